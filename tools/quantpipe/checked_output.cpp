#include "checked_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "core/error.h"

namespace qp::cli {
namespace {
constexpr size_t kBufferBytes = 64 << 10;
}  // namespace

CheckedOutput::CheckedOutput(int fd, std::string name)
    : fd_(fd), name_(std::move(name)), buffer_(kBufferBytes) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

CheckedOutput::~CheckedOutput() {
  if (fd_ >= 0) drain();
}

bool CheckedOutput::write_all(const char* data, size_t size) {
  if (error_ != 0) return false;  // the first failure is the one to report
  if (fd_ < 0) {
    error_ = EBADF;
    return false;
  }
  while (size > 0) {
    const ssize_t written = ::write(fd_, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

bool CheckedOutput::drain() {
  const size_t pending = static_cast<size_t>(pptr() - pbase());
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return write_all(buffer_.data(), pending);
}

CheckedOutput::int_type CheckedOutput::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  return c;
}

std::streamsize CheckedOutput::xsputn(const char* data, std::streamsize size) {
  if (size <= epptr() - pptr()) {
    std::memcpy(pptr(), data, static_cast<size_t>(size));
    pbump(static_cast<int>(size));
    return size;
  }
  // Too big for what is left: write the buffer, then this directly.
  if (!drain() || !write_all(data, static_cast<size_t>(size))) return 0;
  return size;
}

int CheckedOutput::sync() { return drain() ? 0 : -1; }

void CheckedOutput::check() const {
  if (error_ != 0) fail(name_, ": write failed: ", std::strerror(error_));
}

void CheckedOutput::close() {
  drain();
  if (fd_ >= 0 && error_ == 0 && ::close(fd_) != 0 && errno != EINTR) error_ = errno;
  fd_ = -1;
  check();
}

void flush_results() {
  std::cout.flush();
  if (const auto* output = dynamic_cast<const CheckedOutput*>(std::cout.rdbuf())) output->check();
  if (!std::cout) fail("<stdout>: write failed");
}

CheckedStdout::CheckedStdout() : output_(STDOUT_FILENO, "<stdout>"), previous_(std::cout.rdbuf(&output_)) {}

CheckedStdout::~CheckedStdout() {
  std::cout.flush();
  std::cout.rdbuf(previous_);
}

}  // namespace qp::cli
