#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "gguf/gguf_import.h"
#include "io/hub_download.h"
#include "quantpipe/model.h"

namespace qp {

std::filesystem::path resolve_model_source(const std::string& path_or_hub_id) {
  const std::filesystem::path path(path_or_hub_id);
  if (path.extension() == ".gguf" && std::filesystem::is_regular_file(path)) return cached_gguf_import(path);
  if (!looks_like_hub_ref(path_or_hub_id)) return path_or_hub_id;
  const HubRepoRef ref = parse_hub_ref(path_or_hub_id);
  log_info("fetching ", path_or_hub_id, " from the Hugging Face hub (or its cache)");
  try {
    return download_hub_model(ref, hub_download_options_from_env());
  } catch (const Error& e) {
    // A mistyped relative path looks like a hub id too: say both were tried.
    fail(path_or_hub_id, " is not a local directory, and as a hub id: ", e.what());
  }
}

}  // namespace qp
