// The evaluation step of the pipeline: the jobs of one (model, dataset) group
// share one fp32 baseline run; each quantized variant is run on the same
// inputs, compared with it, and put through its quality gates.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/gates.h"
#include "pipeline/plan.h"

namespace qp::pipeline {

struct EvalStepOptions {
  int threads = 0;  // 0: all cores
  int batch_size = 32;
  int speed_rounds = 3;                 // alternating timed passes behind each speedup (see eval::SpeedCheck)
  std::filesystem::path dataset_cache;  // default cache of hub dataset exports
};

struct EvalStepResult {
  const Job* job = nullptr;
  // {"quantization","dataset","quantized_path","fingerprint","comparison","gates","passed"}
  std::optional<nlohmann::json> entry;
  std::string error;  // set when the job failed
  double seconds = 0;
};

// The gates a quantization entry asks for.
eval::GateThresholds gate_thresholds(const QuantizationConfig& quantization);

// Runs the group (all jobs share model, dataset and row limit); calls on_start before and
// on_done after each job. A failure of the baseline fails every job of the group.
void evaluate_group(const std::vector<const Job*>& jobs, const EvalStepOptions& options,
                    const std::function<void(const Job&)>& on_start,
                    const std::function<void(const EvalStepResult&)>& on_done);

}  // namespace qp::pipeline
