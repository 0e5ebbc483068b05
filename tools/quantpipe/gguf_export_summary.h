// Runs a GGUF export with a progress line and prints what went where: one row
// per tensor (GGUF name, type, carried or quantized), the notes, the file size.
// Shared by `quantpipe export` and `quantpipe convert --format gguf`.
#pragma once

#include <filesystem>
#include <string>

#include "gguf/gguf_export.h"

namespace qp::cli {

// The ggml type named by a --type value; nullopt for "auto". Throws naming the
// option and the accepted names otherwise.
std::optional<quant::GgmlType> parse_gguf_type(const std::string& option, const std::string& text);

// Refuses an existing `out` without `force`; prints the summary on stdout.
void export_gguf_with_summary(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                              const GgufExportOptions& options, bool force, bool list_tensors);

}  // namespace qp::cli
