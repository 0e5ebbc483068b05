#include "io/hub_cache.h"

#include <cstdlib>
#include <fstream>

#include "core/error.h"

namespace qp {
namespace fs = std::filesystem;
namespace {

fs::path env_path(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? fs::path(value) : fs::path();
}

// "org/name" → "models--org--name", as huggingface_hub names repo folders.
std::string repo_folder(const std::string& repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) folder += c == '/' ? std::string("--") : std::string(1, c);
  return folder;
}

}  // namespace

fs::path hub_cache_root() {
  if (fs::path p = env_path("HF_HUB_CACHE"); !p.empty()) return p;
  if (fs::path p = env_path("HF_HOME"); !p.empty()) return p / "hub";
  fs::path home = env_path("HOME");
  return (home.empty() ? fs::path("/root") : home) / ".cache" / "huggingface" / "hub";
}

std::optional<fs::path> find_cached_hub_model(const std::string& repo_id, const fs::path& cache_root) {
  const fs::path repo = cache_root / repo_folder(repo_id);
  std::error_code ec;
  if (!fs::is_directory(repo / "snapshots", ec)) return std::nullopt;
  std::ifstream ref(repo / "refs" / "main");
  std::string revision;
  if (ref >> revision && fs::exists(repo / "snapshots" / revision / "config.json", ec))
    return repo / "snapshots" / revision;
  std::optional<fs::path> newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(repo / "snapshots", ec)) {
    if (!fs::exists(entry.path() / "config.json", ec)) continue;
    const auto time = fs::last_write_time(entry.path(), ec);
    if (!newest || time > newest_time) newest = entry.path(), newest_time = time;
  }
  return newest;
}

std::string hub_model_missing_message(const std::string& repo_id, const fs::path& cache_root) {
  return cat("hub model '", repo_id, "' is not in the Hugging Face cache (looked for ",
             (cache_root / repo_folder(repo_id) / "snapshots").string(),
             "); on a machine with internet run `quantpipe download ", repo_id,
             "` (or `huggingface-cli download ", repo_id,
             "`) and copy that folder here (or set HF_HUB_CACHE), or give the model a local `path:`");
}

}  // namespace qp
