// Lays model files out as huggingface_hub's cache holds them, so a test can
// make a hub model "already downloaded" without a hub:
//   <cache>/models--<org>--<name>/blobs/<sha256>            the bytes
//   <cache>/models--<org>--<name>/snapshots/<rev>/<file>     relative symlink to the blob
//   <cache>/models--<org>--<name>/refs/main                  "<rev>"
// Files come from anywhere (an oracle's weights, a tokenizer directory), under
// the names the snapshot gives them.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "io/sha256_file.h"

namespace qp::test {

// Snapshot file name ("1_Pooling/config.json") → the file to copy there.
using SnapshotFiles = std::map<std::string, std::filesystem::path>;

// Every regular file under `dir` by its path relative to `dir`, except `skip`.
inline SnapshotFiles files_of_dir(const std::filesystem::path& dir,
                                  const std::vector<std::string>& skip = {}) {
  SnapshotFiles files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = std::filesystem::relative(entry.path(), dir).generic_string();
    if (std::find(skip.begin(), skip.end(), name) == skip.end()) files[name] = entry.path();
  }
  return files;
}

// Writes the snapshot `revision` of `repo_id` ("org/name") under `cache_root`
// with refs/main naming it; returns the snapshot directory.
inline std::filesystem::path lay_out_hub_snapshot(const std::filesystem::path& cache_root,
                                                  const std::string& repo_id, const std::string& revision,
                                                  const SnapshotFiles& files) {
  namespace fs = std::filesystem;
  std::string folder = "models--" + repo_id;
  for (size_t slash; (slash = folder.find('/')) != std::string::npos;) folder.replace(slash, 1, "--");
  const fs::path repo = cache_root / folder;
  const fs::path snapshot = repo / "snapshots" / revision;
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  for (const auto& [name, from] : files) {
    const std::string blob = sha256_hex(from);
    if (!fs::exists(repo / "blobs" / blob)) fs::copy_file(from, repo / "blobs" / blob);
    const fs::path link = snapshot / name;
    fs::create_directories(link.parent_path());
    // Relative, as huggingface_hub links them: one ".." per directory below the repo folder.
    fs::path target;
    for (const auto& part : fs::relative(link.parent_path(), repo)) {
      (void)part;
      target /= "..";
    }
    fs::create_symlink(target / "blobs" / blob, link);
  }
  std::ofstream(repo / "refs" / "main") << revision;
  return snapshot;
}

}  // namespace qp::test
