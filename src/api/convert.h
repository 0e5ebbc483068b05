// The conversion entry point for in-tree callers (CLI, pipeline) that want the
// internal options and per-tensor progress: quant::convert_model with the
// engine's loader as options.check_loads (see include/quantpipe/quantize.h).
#pragma once

#include <filesystem>
#include <optional>

#include "api/calibration.h"
#include "api/mixed_plan.h"
#include "quant/convert.h"
#include "quantpipe/quantize.h"

namespace qp {

// With options.method == Gptq, `calibration` names the text the fp32 model
// runs over first to collect the Hessians (default: the shipped corpus).
// With `mixed`, bits per tensor are chosen first (api/mixed_plan.h) on the
// same calibration text, and the plan goes into quantpipe.json.
quant::ConvertReport convert(const std::filesystem::path& source, const std::filesystem::path& out,
                             quant::ConvertOptions options, const quant::ProgressFn& progress = {},
                             const std::optional<CalibrationOptions>& calibration = std::nullopt,
                             const std::optional<MixedPrecisionOptions>& mixed = std::nullopt);

}  // namespace qp
