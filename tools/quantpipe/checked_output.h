// Standard output with every write checked. main() points std::cout at a
// CheckedOutput for the whole run, so no subcommand can lose results
// silently: `quantpipe embed … > /dev/full` ends with
// "<stdout>: write failed: No space left on device" and exit status 1, as
// does a disk that fills up half-way.
#pragma once

#include <mutex>
#include <streambuf>
#include <string>

namespace qp::cli {

// The buffer is its own, behind a mutex, not the streambuf's put area: the
// standard streams promise threads no data race, and so does this.
class CheckedOutput : public std::streambuf {
 public:
  // `name` is how messages call the output ("<stdout>").
  CheckedOutput(int fd, std::string name);
  ~CheckedOutput() override;  // writes what is buffered; errors are for close()
  CheckedOutput(const CheckedOutput&) = delete;
  CheckedOutput& operator=(const CheckedOutput&) = delete;

  // Throws qp::Error "<name>: write failed: <errno text>" when a write has failed.
  void check() const;
  // Writes what is buffered and closes the descriptor (where a network file
  // system reports a failed write); throws like check().
  void close();

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* data, std::streamsize size) override;
  int sync() override;

 private:
  // Both with mutex_ held.
  bool write_all(const char* data, size_t size);
  bool drain();

  mutable std::mutex mutex_;
  int fd_;
  std::string name_;
  std::string buffer_;
  int error_ = 0;  // errno of the first failed write
};

// Writes what std::cout holds and throws when a write to it has failed: the
// streaming commands call it after each batch, so results are visible as
// they are made and a full disk stops the run at once.
void flush_results();

// For the lifetime of the object std::cout writes through a CheckedOutput on
// file descriptor 1.
class CheckedStdout {
 public:
  CheckedStdout();
  ~CheckedStdout();  // restores std::cout
  CheckedStdout(const CheckedStdout&) = delete;
  CheckedStdout& operator=(const CheckedStdout&) = delete;

  void close() { output_.close(); }  // see CheckedOutput::close

 private:
  CheckedOutput output_;
  std::streambuf* previous_;
};

}  // namespace qp::cli
