// Builds an output directory under a temporary name beside its final place
// and renames it into place only when everything is written, so a failed or
// interrupted run never leaves a half-written output and never damages an
// earlier good one. A process killed outright (SIGKILL) cannot remove its
// "<target>.tmp-XXXXXX" directory: that stale directory is all it leaves, a
// later run uses a fresh name and is not disturbed by it, and it may be deleted.
#pragma once

#include <filesystem>

namespace qp {

class StagingDir {
 public:
  // Throws when `target` exists and !replace ("… exists; pass --force to
  // replace it"), or when the temporary directory cannot be made.
  StagingDir(const std::filesystem::path& target, bool replace);
  ~StagingDir();  // removes the temporary directory unless committed
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Moves the finished directory into place (an existing one is swapped out
  // first and removed only after the new one is in place).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

}  // namespace qp
