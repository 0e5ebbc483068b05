#include "core/staging_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace qp {
namespace fs = std::filesystem;

namespace {
fs::path make_temp_dir(const fs::path& target, const char* tag) {
  std::string pattern = (target.parent_path() / (target.filename().string() + tag + "XXXXXX")).string();
  if (!mkdtemp(pattern.data()))
    fail(target.string(), ": cannot create a temporary directory beside it: ", std::strerror(errno));
  return pattern;
}
}  // namespace

StagingDir::StagingDir(const fs::path& target, bool replace) : target_(fs::absolute(target)) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  std::error_code ec;
  if (fs::exists(target_, ec) && !replace)
    fail(target_.string(), ": already exists; pass --force to replace it");
  const fs::path parent = target_.parent_path();
  if (!fs::exists(parent, ec))
    fail(target_.string(), ": parent directory ", parent.string(), " does not exist");
  if (!fs::is_directory(parent, ec)) fail(target_.string(), ": ", parent.string(), " is not a directory");
  temp_ = make_temp_dir(target_, ".tmp-");
}

StagingDir::~StagingDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

void StagingDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(target_, ec)) {
    old = make_temp_dir(target_, ".old-");
    fs::remove(old, ec);
    fs::rename(target_, old, ec);
    if (ec) fail(target_.string(), ": cannot move the existing output aside: ", ec.message());
  }
  fs::rename(temp_, target_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, target_);  // put the earlier output back
    fail(target_.string(), ": cannot move the new output into place: ", ec.message());
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace qp
