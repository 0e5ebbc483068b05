// Fetching a model from the Hugging Face hub into the huggingface_hub cache
// layout (models--org--name/blobs/<etag>, snapshots/<commit>/<file> links,
// refs/<revision>), so quantpipe and the Python tools share one cache. Only the
// files a conversion needs are fetched: config, weights (safetensors preferred,
// else pytorch_model.bin), tokenizer files, sentence-transformers modules.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/hub_client.h"

namespace qp {

struct HubRepoRef {
  std::string repo;               // "org/name"
  std::string revision = "main";  // branch, tag or commit sha
};

// "org/name[@revision]". Throws qp::Error on anything else.
HubRepoRef parse_hub_ref(const std::string& text);

// True for text shaped like a hub id ("org/name[@rev]") that is not an existing path.
bool looks_like_hub_ref(const std::string& text);

// From the repo's file list, the ones a conversion needs, plus those matching
// one of `include` (shell globs as fnmatch(3) reads them, where * also
// matches '/', as huggingface_hub's allow_patterns do).
std::vector<std::string> files_to_fetch(const std::vector<std::string>& siblings,
                                        const std::vector<std::string>& include = {});

struct HubDownloadOptions {
  HubClientOptions client;
  std::filesystem::path cache_root;  // empty: hub_cache_root()
  bool offline = false;              // HF_HUB_OFFLINE: the cache only
  std::vector<std::string> include;  // globs of extra files to fetch (download --include)
  bool progress = false;             // a progress bar per file on stderr
};

// Defaults from the environment: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE/HF_HOME, HF_HUB_OFFLINE;
// the progress bar when stderr is a terminal and the log level shows info.
HubDownloadOptions hub_download_options_from_env();

// The cached snapshot of ref holding a config.json, without the network:
// refs/<revision> (or the commit sha itself) names it; for "main" with no ref
// file (a cache copied by hand), the newest snapshot. nullopt when not cached.
std::optional<std::filesystem::path> cached_hub_snapshot(const HubRepoRef& ref,
                                                         const std::filesystem::path& cache_root);

// The snapshot directory of ref, downloading what is missing. Throws qp::Error
// naming the repo and file on any failure; nothing half-written lands under snapshots/.
std::filesystem::path download_hub_model(const HubRepoRef& ref, const HubDownloadOptions& options);

}  // namespace qp
