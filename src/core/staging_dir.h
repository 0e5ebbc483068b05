// Builds an output directory under a temporary name beside its final place
// ("<target>.tmp-XXXXXX") and puts it in place only when everything is written,
// so a failed or interrupted run never leaves a half-written output and never
// damages an earlier good one:
//  - an existing target is swapped with the new directory in one atomic
//    rename (renameat2 RENAME_EXCHANGE); where the file system cannot, the
//    old one is first renamed aside to "<target>.old-XXXXXX", then the new one
//    in. A kill at any point leaves the old or the new output at `target`, or
//    (between the two fallback renames) the old one in "<target>.old-*".
//  - every run first tidies what killed runs left beside its target: a
//    missing target is restored from "<target>.old-*", stale "<target>.tmp-*"
//    and "<target>.old-*" directories are removed. A directory a running
//    process still works in is locked (flock) and left alone.
//  - directories are created 0777 less the umask, as mkdir would.
#pragma once

#include <filesystem>

namespace qp {

class StagingDir {
 public:
  // Tidies leftovers beside `target` (see above), then throws when `target`
  // exists and !replace ("… exists; pass --force to replace it"), or when the
  // temporary directory cannot be made.
  StagingDir(const std::filesystem::path& target, bool replace);
  ~StagingDir();  // removes the temporary directory unless committed
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Syncs the finished directory to disk and puts it in place; the previous
  // output is removed only once the new one is at `target`.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int lock_fd_ = -1;  // flock on temp_ while it is being built: "in use, not a leftover"
  bool committed_ = false;
};

// The steps of StagingDir, exposed so that tests can stop between them the
// way a kill would.
namespace staging {

// Restores a missing `target` from its newest unlocked "<target>.old-*", then
// removes the unlocked "<target>.tmp-*" and "<target>.old-*" directories.
void recover_leftovers(const std::filesystem::path& target);

// Puts `ready` at `target` and returns the path that now holds the previous
// target (empty when there was none), for the caller to remove. With
// allow_exchange the two are swapped atomically where the file system can;
// otherwise the previous target is renamed aside to "<target>.old-XXXXXX" first.
std::filesystem::path swap_into_place(const std::filesystem::path& ready, const std::filesystem::path& target,
                                      bool allow_exchange = true);

// The first half of the fallback: renames `target` to "<target>.old-XXXXXX"
// and returns that path.
std::filesystem::path move_aside(const std::filesystem::path& target);

}  // namespace staging
}  // namespace qp
