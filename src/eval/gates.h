// Quality gates: the checks a quantized model must pass against its fp32
// baseline before anyone should use it. Each gate reports its measured value,
// its threshold and a sentence a person can act on; a failed gate makes the
// pipeline (and `quantpipe eval`) exit non-zero.
//
//   accuracy_drop  baseline − quantized primary metric ≤ max_accuracy_drop, a fraction
//                  of the metric's scale (0.015: 1.5 points); reported in points
//   speedup        quantized ÷ baseline queries per minute ≥ min_speedup
//   size           model size within ±size_tolerance of target_size_mb (far below
//                  the target passes with a warning: a target is a budget)
//   collapse       every class the baseline predicts is still predicted, and
//                  agreement with fp32 (labels) or mean cosine (embeddings) is
//                  above its floor — the silent collapse other tools ship
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/evaluation.h"

namespace qp::eval {

struct GateThresholds {
  // A fraction of the primary metric's scale, in [0, 1]: 0.015 allows 1.5 points
  // (the original pipeline's meaning). Gate skipped when absent.
  std::optional<double> max_accuracy_drop;
  double min_speedup = 1.2;
  std::optional<double> target_size_mb;  // gate skipped when absent
  double size_tolerance = 0.10;          // fraction of the target
  double min_agreement = 0.85;           // label agreement floor (collapse)
  double min_cosine = 0.90;              // mean cosine floor for embeddings (collapse)
};

struct GateResult {
  std::string name;  // accuracy_drop | speedup | size | collapse
  bool passed = true;
  bool warning = false;  // passed, but worth a look (e.g. far below the size target)
  double value = 0;
  std::optional<double> threshold;  // in the unit of value (accuracy_drop: points)
  std::string detail;               // "accuracy dropped 2.31 points, limit 1.00 (fails by 1.31)"
};

// Why a max_accuracy_drop cannot be meant as given ("" when it is a fraction
// in [0, 1]). A value above 1 is almost always points written by mistake (1.5
// for 1.5%), a gate a hundred times looser than meant, so it is refused.
std::string max_accuracy_drop_problem(double fraction);

// Throws qp::Error when max_accuracy_drop is not a fraction (see above).
std::vector<GateResult> apply_gates(const Comparison& comparison, const GateThresholds& thresholds);
bool all_passed(const std::vector<GateResult>& gates);
nlohmann::json to_json(const GateResult& gate);

}  // namespace qp::eval
