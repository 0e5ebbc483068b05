// Fetching a model from the Hugging Face hub into the huggingface_hub cache
// layout (models--org--name/blobs/<etag>, snapshots/<commit>/<file> links,
// refs/<revision>), so quantpipe and the Python tools share one cache. Only the
// files a conversion needs are fetched: config, weights (safetensors preferred,
// else pytorch_model.bin), tokenizer files, sentence-transformers modules.
#pragma once

#include <filesystem>
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

// From the repo's file list, the ones a conversion needs.
std::vector<std::string> files_to_fetch(const std::vector<std::string>& siblings);

struct HubDownloadOptions {
  HubClientOptions client;
  std::filesystem::path cache_root;  // empty: hub_cache_root()
  bool offline = false;              // HF_HUB_OFFLINE: the cache only
};

// Defaults from the environment: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE/HF_HOME, HF_HUB_OFFLINE.
HubDownloadOptions hub_download_options_from_env();

// The snapshot directory of ref, downloading what is missing. Throws qp::Error
// naming the repo and file on any failure; nothing half-written lands under snapshots/.
std::filesystem::path download_hub_model(const HubRepoRef& ref, const HubDownloadOptions& options);

}  // namespace qp
