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

CheckedOutput::CheckedOutput(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  buffer_.reserve(kBufferBytes);
}

CheckedOutput::~CheckedOutput() {
  const std::lock_guard<std::mutex> lock(mutex_);
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
  const bool ok = write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
  return ok;
}

CheckedOutput::int_type CheckedOutput::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  const char byte = traits_type::to_char_type(c);
  return xsputn(&byte, 1) == 1 ? c : traits_type::eof();
}

std::streamsize CheckedOutput::xsputn(const char* data, std::streamsize size) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (error_ != 0) return 0;
  const auto bytes = static_cast<size_t>(size);
  if (buffer_.size() + bytes > kBufferBytes && !drain()) return 0;
  if (bytes >= kBufferBytes) return write_all(data, bytes) ? size : 0;  // too big to buffer
  buffer_.append(data, bytes);
  return size;
}

int CheckedOutput::sync() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return drain() ? 0 : -1;
}

void CheckedOutput::check() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (error_ != 0) fail(name_, ": write failed: ", std::strerror(error_));
}

void CheckedOutput::close() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    drain();
    if (fd_ >= 0 && error_ == 0 && ::close(fd_) != 0 && errno != EINTR) error_ = errno;
    fd_ = -1;
  }
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
