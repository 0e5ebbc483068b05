// quantpipe's public conversion API: a Hugging Face encoder directory → the
// native quantized directory (docs/FORMAT.md), checked on both ends by the
// same loader that runs models.
//
//   qp::quant::ConvertOptions options;
//   options.plan.linear = qp::quant::parse_scheme("q4_affine_g64");
//   qp::convert("models/all-MiniLM-L6-v2", "minilm-q4", options);
#pragma once

#include <filesystem>

#include "quant/convert.h"

namespace qp {

// Throws qp::Error naming the file and the problem when the engine would
// refuse the directory (config, weights, tokenizer, heads).
void check_model_loads(const std::filesystem::path& dir);

// quant::convert_model with options.check_loads = check_model_loads: the
// source is validated as strictly as Model::load does before anything is
// written, and the output must load before it replaces an earlier one.
quant::ConvertReport convert(const std::filesystem::path& source, const std::filesystem::path& out,
                             quant::ConvertOptions options, const quant::ProgressFn& progress = {});

}  // namespace qp
