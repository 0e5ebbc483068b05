// Atomic file writes: the bytes go to a temporary file beside the target
// ("<path>.tmp-XXXXXX", same directory so rename() stays on one file system;
// permissions 0666 less the umask), are fsynced, and the temporary file is
// renamed over the target. Readers see
// either the old file or the complete new one; on any error the temporary file
// is removed and the old file is left as it was.
// The temporary file is flocked while it is written; each new AtomicFile for
// a path first removes the unlocked "<path>.tmp-XXXXXX" files beside it, the
// leftovers of killed writers (a running writer's file stays).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace qp {

class AtomicFile {
 public:
  // Creates the temporary file; throws qp::Error "<path>: cannot create ...: <errno text>".
  explicit AtomicFile(const std::filesystem::path& path);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes; throws qp::Error naming the target path and the errno text.
  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // fsync, close and rename into place (then fsync the directory).
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  void discard() noexcept;

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes a whole file atomically (see AtomicFile).
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace qp
