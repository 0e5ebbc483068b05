#include "model_source.h"

#include "core/error.h"
#include "core/log.h"
#include "io/hub_download.h"

namespace qp::cli {

std::string resolve_model_source(const std::string& model) {
  if (!looks_like_hub_ref(model)) return model;
  const HubRepoRef ref = parse_hub_ref(model);
  log_info("fetching ", model, " from the Hugging Face hub (or its cache)");
  try {
    return download_hub_model(ref, hub_download_options_from_env()).string();
  } catch (const Error& e) {
    // A mistyped relative path looks like a hub id too: say both were tried.
    fail(model, " is not a local directory, and as a hub id: ", e.what());
  }
}

}  // namespace qp::cli
