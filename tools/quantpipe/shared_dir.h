// Finds the ../shared folder of real models and data beside the repository.
#pragma once

#include <filesystem>
#include <optional>

namespace qp::cli {

// QUANTPIPE_SHARED_DIR, else ./shared or ../shared from the working directory,
// else ../../../shared from the binary (build/bin/quantpipe in a checkout).
// QUANTPIPE_SHARED_DIR=none means: do not look (use the built-in defaults).
std::optional<std::filesystem::path> find_shared_dir();

}  // namespace qp::cli
