// The conversion entry point for in-tree callers (CLI, pipeline) that want the
// internal options and per-tensor progress: quant::convert_model with the
// engine's loader as options.check_loads (see include/quantpipe/quantize.h).
#pragma once

#include <filesystem>

#include "quant/convert.h"
#include "quantpipe/quantize.h"

namespace qp {

quant::ConvertReport convert(const std::filesystem::path& source, const std::filesystem::path& out,
                             quant::ConvertOptions options, const quant::ProgressFn& progress = {});

}  // namespace qp
