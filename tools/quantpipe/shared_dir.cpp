#include "shared_dir.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace qp::cli {

std::optional<std::filesystem::path> find_shared_dir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("QUANTPIPE_SHARED_DIR")) {
    if (std::string(env) == "none") return std::nullopt;
    candidates.emplace_back(env);
  }
  candidates.push_back(fs::current_path() / "shared");
  candidates.push_back(fs::current_path().parent_path() / "shared");
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path().parent_path().parent_path() / "shared");
  for (const fs::path& dir : candidates)
    if (fs::is_directory(dir / "models", ec)) return fs::weakly_canonical(dir, ec);
  return std::nullopt;
}

}  // namespace qp::cli
