#include "core/staging_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/kill_point.h"
#include "core/log.h"
#include "core/unique_name.h"

namespace qp {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTempTag = ".tmp-";
constexpr const char* kOldTag = ".old-";
constexpr unsigned kRenameNoReplace = 1u << 0;  // RENAME_NOREPLACE, <linux/fs.h>
constexpr unsigned kRenameExchange = 1u << 1;   // RENAME_EXCHANGE

Fd open_dir(const fs::path& dir) {
  return Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
}

// renameat2 with flags: 0 on success, else errno; ENOSYS where the headers
// or the kernel lack it, EINVAL where the file system does not take the flag.
int rename_with_flags(const fs::path& from, const fs::path& to, unsigned flags) {
#ifdef SYS_renameat2
  if (::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0) return 0;
  return errno;
#else
  (void)from, (void)to, (void)flags;
  return ENOSYS;
#endif
}

bool flag_unsupported(int error) { return error == EINVAL || error == ENOSYS || error == EOPNOTSUPP; }

// Renames `from` to `to` only when nothing is at `to` (plain rename where the
// file system lacks RENAME_NOREPLACE); 0 or errno.
int rename_no_replace(const fs::path& from, const fs::path& to) {
  const int error = rename_with_flags(from, to, kRenameNoReplace);
  if (!flag_unsupported(error)) return error;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(to, ec))) return EEXIST;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

// "<target><tag>XXXXXX" for a fresh random suffix.
fs::path sibling_name(const fs::path& target, const char* tag) {
  return target.parent_path() / (target.filename().string() + tag + random_suffix());
}

// A new, empty, locked directory beside `target`, 0777 less the umask.
fs::path make_locked_dir(const fs::path& target, const char* tag, Fd& lock) {
  for (int attempt = 0;; ++attempt) {
    const fs::path dir = sibling_name(target, tag);
    if (::mkdir(dir.c_str(), 0777) != 0) {
      if (errno == EEXIST && attempt < 100) continue;
      fail(target.string(), ": cannot create a temporary directory beside it: ", std::strerror(errno));
    }
    Fd fd = open_dir(dir);
    if (fd.get() < 0) continue;  // removed at once by a run tidying leftovers: draw again
    const Lock state = try_lock(fd.get());
    if (state == Lock::Busy) continue;  // a run tidying leftovers is removing it
    // Between mkdir and flock another run may have taken it for a leftover
    // and removed it: only a directory still at its name is ours.
    if (!same_file(fd.get(), dir.c_str())) continue;
    lock = std::move(fd);
    return dir;
  }
}

struct Leftover {
  fs::path path;
  bool old;  // "<target>.old-*" (a previous output), else "<target>.tmp-*"
  fs::file_time_type modified;
};

// Directories beside `target` named like StagingDir's temporary ones.
std::vector<Leftover> find_leftovers(const fs::path& target) {
  std::vector<Leftover> found;
  const std::string name = target.filename().string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string entry_name = entry.path().filename().string();
    if (entry_name.size() != name.size() + 5 + kRandomSuffixLength ||
        entry_name.compare(0, name.size(), name) != 0)
      continue;
    const std::string tag = entry_name.substr(name.size(), 5);
    if ((tag != kTempTag && tag != kOldTag) || !is_random_suffix(entry_name.substr(name.size() + 5)))
      continue;
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec) || entry.is_symlink(entry_ec)) continue;
    found.push_back({entry.path(), tag == kOldTag, fs::last_write_time(entry.path(), entry_ec)});
  }
  // Newest first: a restored target is the last good output.
  std::sort(found.begin(), found.end(),
            [](const Leftover& a, const Leftover& b) { return a.modified > b.modified; });
  return found;
}

// fsync every file and directory under `dir`, `dir` last: the new output is
// on disk before its name replaces the old one.
void sync_tree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_symlink(type_ec) || !(it->is_regular_file(type_ec) || it->is_directory(type_ec))) continue;
    const Fd fd(::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() >= 0 && ::fsync(fd.get()) != 0 && errno != EINVAL)
      fail(it->path().string(), ": cannot sync to disk: ", std::strerror(errno));
  }
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

// Makes renames in `dir` durable; failing to is not worth failing a finished run for.
void sync_directory(const fs::path& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

}  // namespace

namespace staging {

void recover_leftovers(const fs::path& target) {
  std::error_code ec;
  bool target_present = fs::exists(fs::symlink_status(target, ec));
  for (const Leftover& leftover : find_leftovers(target)) {
    const Fd fd = open_dir(leftover.path);
    // Locked: a running process builds or swaps it. Not lockable here (a file
    // system without flock): whose it is cannot be told, so it stays.
    if (fd.get() < 0 || try_lock(fd.get()) != Lock::Taken) continue;
    if (leftover.old && !target_present) {
      if (rename_no_replace(leftover.path, target) == 0) {
        target_present = true;
        log_warn(target.string(), ": restored from ", leftover.path.filename().string(),
                 ", the previous output an interrupted run had moved aside");
        continue;
      }
    }
    fs::remove_all(leftover.path, ec);
    if (ec)
      log_warn(leftover.path.string(), ": cannot remove this leftover of an interrupted run: ", ec.message());
    else
      log_info("removed ", leftover.path.string(), ", left by an interrupted run");
  }
}

fs::path move_aside(const fs::path& target) {
  for (int attempt = 0;; ++attempt) {
    const fs::path aside = sibling_name(target, kOldTag);
    const int error = rename_no_replace(target, aside);
    if (error == 0) return aside;
    if (error != EEXIST || attempt == 100)
      fail(target.string(), ": cannot move the existing output aside: ", std::strerror(error));
  }
}

fs::path swap_into_place(const fs::path& ready, const fs::path& target, bool allow_exchange) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target, ec))) {
    const int error = rename_no_replace(ready, target);
    if (error != 0) fail(target.string(), ": cannot move the new output into place: ", std::strerror(error));
    return {};
  }
  if (allow_exchange) {
    // One step: `target` is the old output until it is the new one.
    const int error = rename_with_flags(ready, target, kRenameExchange);
    if (error == 0) return ready;
    if (!flag_unsupported(error))
      fail(target.string(), ": cannot swap the new output into place: ", std::strerror(error));
  }
  // Two steps. The previous output is locked while it is aside, so a run
  // tidying leftovers meanwhile does not take it for one.
  Fd lock(::open(target.c_str(), O_RDONLY | O_CLOEXEC));
  if (lock.get() >= 0) try_lock(lock.get());
  const fs::path aside = move_aside(target);
  kill_point("dir.moved_aside", target);
  const int error = rename_no_replace(ready, target);
  if (error != 0) {
    ::rename(aside.c_str(), target.c_str());  // put the earlier output back
    fail(target.string(), ": cannot move the new output into place: ", std::strerror(error));
  }
  return aside;
}

}  // namespace staging

StagingDir::StagingDir(const fs::path& target, bool replace) : target_(fs::absolute(target)) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  std::error_code ec;
  const fs::path parent = target_.parent_path();
  if (!fs::exists(parent, ec))
    fail(target_.string(), ": parent directory ", parent.string(), " does not exist");
  if (!fs::is_directory(parent, ec)) fail(target_.string(), ": ", parent.string(), " is not a directory");
  staging::recover_leftovers(target_);
  if (fs::exists(fs::symlink_status(target_, ec)) && !replace)
    fail(target_.string(), ": already exists; pass --force to replace it");
  Fd lock;
  temp_ = make_locked_dir(target_, kTempTag, lock);
  lock_fd_ = lock.release();
}

StagingDir::~StagingDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StagingDir::commit() {
  sync_tree(temp_);
  kill_point("dir.complete", target_);
  const fs::path previous = staging::swap_into_place(temp_, target_);
  committed_ = true;
  ::close(std::exchange(lock_fd_, -1));
  kill_point("dir.swapped", target_);
  sync_directory(target_.parent_path());
  std::error_code ec;
  if (!previous.empty()) fs::remove_all(previous, ec);
  kill_point("dir.previous_removed", target_);
}

}  // namespace qp
