// Open descriptors that close themselves, and the flock that marks a
// temporary file or directory as "in use by a running process". A flock dies
// with its process, so a temporary whose lock can be taken was left behind by
// a killed run and may be removed (AtomicFile, StagingDir).
#pragma once

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace qp {

// An open descriptor, closed on scope exit; closing it drops any flock on it.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

enum class Lock { Taken, Busy, Unsupported };

// An exclusive flock, without waiting. Unsupported: the file system has no
// flock, so whose a temporary is cannot be told (callers then leave it).
inline Lock try_lock(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Lock::Taken;
  return errno == EWOULDBLOCK ? Lock::Busy : Lock::Unsupported;
}

// Whether `fd` is the file or directory named `path` now: after taking a lock,
// the name may already have been removed by a run tidying leftovers.
inline bool same_file(int fd, const char* path) {
  struct stat held, named;
  return ::fstat(fd, &held) == 0 && ::lstat(path, &named) == 0 && held.st_ino == named.st_ino &&
         held.st_dev == named.st_dev;
}

}  // namespace qp
