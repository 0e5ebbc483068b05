#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/kill_point.h"
#include "core/log.h"
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

constexpr const char* kTempTag = ".tmp-";

// Removes the "<path>.tmp-XXXXXX" files that killed writers of `path` left:
// those whose lock can be taken. A running writer holds its lock; on a file
// system without flock nothing is removed, as whose a file is cannot be told.
void remove_stale_temp_files(const std::filesystem::path& path) {
  const std::string prefix = path.filename().string() + kTempTag;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent_or_cwd(path), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + kRandomSuffixLength || name.compare(0, prefix.size(), prefix) != 0 ||
        !is_random_suffix(std::string_view(name).substr(prefix.size())))
      continue;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || entry.is_symlink(type_ec)) continue;
    const Fd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.get() < 0 || try_lock(fd.get()) != Lock::Taken || !same_file(fd.get(), entry.path().c_str()))
      continue;
    if (::unlink(entry.path().c_str()) == 0)
      log_info("removed ", entry.path().string(), ", left by an interrupted run");
  }
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& path) : path_(path) {
  remove_stale_temp_files(path);
  // Created 0666 less the umask, like any file the user's tools write
  // (mkstemp would make it 0600, unreadable to the group the umask allows),
  // and locked while it is written: "in use", not a killed run's leftover.
  for (int attempt = 0;; ++attempt) {
    std::string candidate = path.string() + kTempTag + random_suffix();
    Fd fd(::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.get() < 0) {
      if (errno != EEXIST || attempt == 100)
        fail(path.string(), ": cannot create temporary file ", candidate, ": ", std::strerror(errno));
      continue;
    }
    // Between open and flock another writer tidying leftovers may have taken
    // it for one and removed it: only a file still at its name is ours.
    if (try_lock(fd.get()) == Lock::Busy || !same_file(fd.get(), candidate.c_str())) {
      if (attempt == 100)
        fail(path.string(), ": cannot create temporary file beside it: others keep removing them");
      continue;
    }
    fd_ = fd.release();
    temp_path_ = std::move(candidate);
    return;
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  // Unlinked while still locked, so no other writer tidies it meanwhile.
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
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
  // The lock stays on a duplicate until the rename: closing fd_ (and seeing
  // its error) must not make the finished file look like a leftover.
  const Fd lock(::dup(fd_));
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
