// Choosing bits per tensor for a conversion: sensitivity measured on the
// calibration rows (api/sensitivity.h), then the plan that loses least within
// the size target (quant/mixed_precision.h), or, with only an accuracy bound,
// the smallest plan whose drop measured on the calibration rows stays within
// it (a bisection over the predicted-error budget, each step one run of the
// whole mixed plan).
//
// The drop on calibration rows is what convert can see without labels: the
// fraction of rows whose fp32 label changes for a classification head, and
// 1 − mean cosine to the fp32 embedding otherwise. The pipeline then checks
// the real gate on the task data and, when it fails, asks for the plan again
// with `raise` (see MixedPrecisionOptions).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "api/sensitivity.h"
#include "quant/convert.h"

namespace qp {

struct MixedPrecisionOptions {
  std::optional<double> target_size_mb;     // whole model, MB of 10^6 bytes
  std::optional<double> max_accuracy_drop;  // on the calibration rows, see above
  SensitivityOptions sensitivity;
  // plan.mixed_precision of an earlier conversion of the same source: its
  // measurements are reused when it has the same units and options, and with
  // `raise` its plan is the one raised.
  nlohmann::json previous;
  // After a failed gate: the quarter of the units whose chosen option costs
  // most error (fewer when the size target has no room for them, at least
  // one) must take a more precise option than they had in `previous`, and
  // earlier raises stay; the rest is planned again within the budget.
  bool raise = false;
  bool general_text = false;  // the calibration rows are the shipped corpus or synthetic (a warning)
  // Where the calibration rows came from (CalibrationSet::info): earlier
  // measurements are reused only when they were made on the same rows.
  nlohmann::json calibration;
  int threads = 0;
};

struct MixedPrecisionResult {
  std::map<std::string, std::optional<quant::QuantScheme>> assigned;  // PlanOptions::assigned
  std::set<std::string> keep_f16;                                     // PlanOptions::keep_f16
  nlohmann::json record;  // stored as quantpipe.json's plan.mixed_precision
};

// Throws qp::Error "no plan within budget …" naming the smallest plan's size
// when the target is below it, and when a raise leaves nothing to raise or
// does not fit the target.
MixedPrecisionResult plan_mixed_precision(const std::filesystem::path& source,
                                          const quant::ConvertOptions& convert,
                                          const std::vector<Encoding>& calibration,
                                          const MixedPrecisionOptions& options);

// The drop a mixed plan causes on calibration rows: disagreement of
// arg-max labels when `classifier`, else 1 − mean cosine; rows of `width`.
double calibration_drop(const std::vector<float>& quantized, const std::vector<float>& reference,
                        size_t width, bool classifier);

}  // namespace qp
