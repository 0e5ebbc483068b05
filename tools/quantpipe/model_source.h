// --model as the user typed it → a local directory: an existing path stays as
// it is; a hub id ("org/name[@revision]") is fetched into the shared Hugging
// Face cache (or found there when HF_HUB_OFFLINE=1) and its snapshot returned.
#pragma once

#include <string>

namespace qp::cli {

std::string resolve_model_source(const std::string& model);

}  // namespace qp::cli
