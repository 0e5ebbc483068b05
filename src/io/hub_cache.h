// Finding a hub model in the local Hugging Face cache. quantpipe reads the
// cache layout huggingface_hub writes (models--<org>--<name>/snapshots/<rev>/),
// so a model downloaded once with `huggingface-cli download` (or by any HF
// library) is found without a network.
//
// Cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qp {

std::filesystem::path hub_cache_root();

// The snapshot directory of `repo_id` ("org/name") holding a config.json: the
// one refs/main names when present, else the newest. nullopt when not cached.
std::optional<std::filesystem::path> find_cached_hub_model(const std::string& repo_id,
                                                           const std::filesystem::path& cache_root);

// What to tell a user whose model is not cached: where it was looked for and
// how to get it there.
std::string hub_model_missing_message(const std::string& repo_id, const std::filesystem::path& cache_root);

}  // namespace qp
