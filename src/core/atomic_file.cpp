#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/kill_point.h"
#include "core/unique_name.h"

namespace qp {
namespace {

std::filesystem::path parent_or_cwd(const std::filesystem::path& path) {
  const std::filesystem::path parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// Makes the rename durable; a directory that cannot be opened or synced is not
// an error worth failing a finished write for.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& path) : path_(path) {
  // Created 0666 less the umask, like any file the user's tools write
  // (mkstemp would make it 0600, unreadable to the group the umask allows).
  for (int attempt = 0;; ++attempt) {
    std::string candidate = path.string() + ".tmp-" + random_suffix();
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      temp_path_ = std::move(candidate);
      return;
    }
    if (errno != EEXIST || attempt == 100)
      fail(path.string(), ": cannot create temporary file ", candidate, ": ", std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) fail(path_.string(), ": write after the file was committed or discarded");
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      discard();
      fail(path_.string(), ": write failed: ", std::strerror(err));
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
  kill_point("file.write", path_);
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(path_.string(), ": commit after the file was committed or discarded");
  // The data reaches the disk before the name points at it: after a power
  // loss the file is the old one or the whole new one, never empty.
  if (::fsync(fd_) != 0) {
    const int err = errno;
    discard();
    fail(path_.string(), ": cannot sync: ", std::strerror(err));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    discard();
    fail(path_.string(), ": cannot close: ", std::strerror(err));
  }
  kill_point("file.complete", path_);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    fail(path_.string(), ": cannot rename the temporary file into place: ", std::strerror(err));
  }
  committed_ = true;
  temp_path_.clear();
  kill_point("file.renamed", path_);
  sync_directory(parent_or_cwd(path_));
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  AtomicFile file(path);
  file.write(contents);
  file.commit();
}

}  // namespace qp
