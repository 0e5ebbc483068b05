#include "io/hub_download.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/kill_point.h"
#include "core/log.h"
#include "io/hub_cache.h"
#include "io/sha256_file.h"
#include "io/transfer_progress.h"

namespace qp {
namespace fs = std::filesystem;
namespace {

// Files a conversion or the tokenizer may read, by exact name.
const std::vector<std::string> kWantedFiles = {
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spm.model",
    "sentencepiece.bpe.model",
    "added_tokens.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
};

bool is_weight_file(const std::string& name, const std::string& stem, const std::string& ext) {
  return name == stem + ext || name == stem + ext + ".index.json" ||
         (name.rfind(stem + "-", 0) == 0 && name.size() > ext.size() &&
          name.compare(name.size() - ext.size(), ext.size(), ext) == 0 &&
          name.find('/') == std::string::npos);
}

std::string repo_folder(const std::string& repo) {
  std::string folder = "models--";
  for (char c : repo) folder += c == '/' ? std::string("--") : std::string(1, c);
  return folder;
}

// The ETag names the blob: quotes and a weak marker stripped.
std::string blob_name(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  return etag;
}

std::string read_ref(const fs::path& file) {
  std::ifstream in(file);
  std::string sha;
  in >> sha;
  return sha;
}

// snapshots/<sha>/<file> → ../../blobs/<etag> (deeper files get more "..").
void link_into_snapshot(const fs::path& snapshot, const std::string& file, const fs::path& blob) {
  const fs::path link = snapshot / file;
  fs::create_directories(link.parent_path());
  const fs::path target = fs::relative(blob, link.parent_path());
  const fs::path tmp = link.string() + ".tmp-link";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp);
  fs::rename(tmp, link);
  kill_point("download.linked", link);
}

bool matches_any(const std::string& name, const std::vector<std::string>& globs) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return fnmatch(glob.c_str(), name.c_str(), 0) == 0; });
}

fs::path fetch_file(const HubClient& client, const HubRepoRef& ref, const std::string& sha,
                    const fs::path& repo_dir, const std::string& file, bool progress) {
  const std::string what = cat(ref.repo, "@", ref.revision, ": ", file);
  const std::string url = cat(client.options().endpoint, "/", ref.repo, "/resolve/", sha, "/", file);
  const HttpResponse head = client.head(url, what);
  std::string etag = head.header("x-linked-etag");
  if (etag.empty()) etag = head.header("etag");
  etag = blob_name(etag);
  if (etag.empty() || etag.find('/') != std::string::npos || etag == "." || etag == "..")
    fail("[hub] ", what, ": the hub sent no usable ETag to name the file by");
  const fs::path blob = repo_dir / "blobs" / etag;
  std::error_code ec;
  if (!fs::exists(blob, ec)) {
    fs::create_directories(blob.parent_path());
    const fs::path partial = blob.string() + ".incomplete";
    const std::string size =
        head.header("x-linked-size").empty() ? head.header("content-length") : head.header("x-linked-size");
    log_info("[hub] ", ref.repo, ": fetching ", file, size.empty() ? "" : cat(" (", size, " bytes)"));
    TransferProgress bar(file, progress);
    client.download_to(url, partial, what, [&bar](int64_t done, int64_t total) { bar.update(done, total); });
    bar.clear();
    // LFS files are named by their SHA-256: a mismatch is a corrupt transfer
    // (or a stale partial file); dropped so the next run starts it over.
    if (is_sha256_hex(etag)) {
      if (const std::string actual = sha256_hex(partial); actual != etag) {
        fs::remove(partial, ec);
        fail("[hub] ", what, ": the download's SHA-256 is ", actual, " but the hub says ", etag,
             " (corrupt transfer; run again)");
      }
    }
    kill_point("download.complete", partial);
    fs::rename(partial, blob);
    kill_point("download.blob", blob);
  }
  return blob;
}

}  // namespace

HubRepoRef parse_hub_ref(const std::string& text) {
  static const std::regex shape(
      R"(([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(@([A-Za-z0-9._/-]+))?)");
  std::smatch m;
  if (!std::regex_match(text, m, shape) || text.find("..") != std::string::npos)
    fail("'", text, "' is not a hub model id (expected org/name or org/name@revision)");
  HubRepoRef ref;
  ref.repo = m[1];
  if (m[3].matched) ref.revision = m[3];
  return ref;
}

bool looks_like_hub_ref(const std::string& text) {
  std::error_code ec;
  if (text.empty() || text[0] == '/' || text[0] == '.' || fs::exists(text, ec)) return false;
  try {
    parse_hub_ref(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::vector<std::string> files_to_fetch(const std::vector<std::string>& siblings,
                                        const std::vector<std::string>& include) {
  const auto has = [&](auto pred) { return std::any_of(siblings.begin(), siblings.end(), pred); };
  const bool safetensors =
      has([](const std::string& s) { return is_weight_file(s, "model", ".safetensors"); });
  std::vector<std::string> chosen;
  for (const std::string& name : siblings) {
    const bool wanted = std::find(kWantedFiles.begin(), kWantedFiles.end(), name) != kWantedFiles.end() ||
                        name.rfind("2_Dense/", 0) == 0 ||
                        (safetensors ? is_weight_file(name, "model", ".safetensors")
                                     : is_weight_file(name, "pytorch_model", ".bin")) ||
                        matches_any(name, include);
    if (wanted) chosen.push_back(name);
  }
  return chosen;
}

std::optional<fs::path> cached_hub_snapshot(const HubRepoRef& ref, const fs::path& cache_root) {
  const fs::path repo_dir = cache_root / repo_folder(ref.repo);
  const std::string sha =
      is_commit_sha(ref.revision) ? ref.revision : read_ref(repo_dir / "refs" / ref.revision);
  std::error_code ec;
  if (!sha.empty() && fs::exists(repo_dir / "snapshots" / sha / "config.json", ec))
    return repo_dir / "snapshots" / sha;
  if (ref.revision == "main" && sha.empty()) return find_cached_hub_model(ref.repo, cache_root);
  return std::nullopt;
}

HubDownloadOptions hub_download_options_from_env() {
  HubDownloadOptions options;
  options.client = hub_client_options_from_env();
  options.cache_root = hub_cache_root();
  // As huggingface_hub's bars: on a terminal, unless the user asked for quiet.
  options.progress = isatty(STDERR_FILENO) == 1 && log_level() <= LogLevel::Info;
  const char* offline = std::getenv("HF_HUB_OFFLINE");
  options.offline = offline && (std::string(offline) == "1" || std::string(offline) == "true" ||
                                std::string(offline) == "ON" || std::string(offline) == "YES");
  return options;
}

fs::path download_hub_model(const HubRepoRef& ref, const HubDownloadOptions& options) {
  const fs::path cache_root = options.cache_root.empty() ? hub_cache_root() : options.cache_root;
  const fs::path repo_dir = cache_root / repo_folder(ref.repo);
  if (options.offline) {
    if (auto snapshot = cached_hub_snapshot(ref, cache_root)) return *snapshot;
    fail("[hub] ", ref.repo, "@", ref.revision, ": config.json is not in the cache (looked in ",
         (repo_dir / "snapshots").string(), ") and HF_HUB_OFFLINE=1 forbids downloading it");
  }
  const HubClient client(options.client);
  const std::string what = cat(ref.repo, "@", ref.revision);
  const HttpResponse info = client.get(
      cat(options.client.endpoint, "/api/models/", ref.repo, "/revision/", url_revision(ref.revision)), what);
  nlohmann::json json;
  std::vector<std::string> siblings;
  std::string sha;
  try {
    json = nlohmann::json::parse(info.body);
    sha = json.at("sha").get<std::string>();
    for (const auto& sibling : json.at("siblings"))
      siblings.push_back(sibling.at("rfilename").get<std::string>());
  } catch (const std::exception& e) {
    fail("[hub] ", what, ": the model info is not what the hub API sends (", e.what(), ")");
  }
  if (!is_commit_sha(sha)) fail("[hub] ", what, ": the model info names commit '", sha, "', not a sha");
  std::vector<std::string> files = files_to_fetch(siblings, options.include);
  // config.json is linked last: a snapshot that has it is complete, which is
  // what cached_hub_snapshot (offline runs, a hub that cannot be reached)
  // trusts, so a download killed halfway never passes for a finished one.
  std::stable_partition(files.begin(), files.end(), [](const std::string& f) { return f != "config.json"; });
  for (const std::string& glob : options.include)
    if (std::none_of(siblings.begin(), siblings.end(),
                     [&](const std::string& f) { return matches_any(f, {glob}); }))
      log_warn("[hub] ", what, ": --include '", glob, "' matches no file of the repo");
  if (std::find(files.begin(), files.end(), "config.json") == files.end())
    fail("[hub] ", what, ": the repo has no config.json, so it is not a model quantpipe can convert");
  const fs::path snapshot = repo_dir / "snapshots" / sha;
  for (const std::string& file : files) {
    if (file.find("..") != std::string::npos || file.empty() || file[0] == '/')
      fail("[hub] ", what, ": refusing the file name '", file, "'");
    std::error_code ec;
    if (fs::exists(snapshot / file, ec)) continue;
    link_into_snapshot(snapshot, file, fetch_file(client, ref, sha, repo_dir, file, options.progress));
  }
  if (ref.revision != sha) {
    fs::create_directories((repo_dir / "refs" / ref.revision).parent_path());
    write_file_atomic(repo_dir / "refs" / ref.revision, sha);
  }
  return snapshot;
}

}  // namespace qp
