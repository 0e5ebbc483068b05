// Mixed precision: bits per tensor chosen to lose least within a budget.
//
// The model's quantizable tensors are grouped into units decided together
// (q / k / v of one layer share an input and fuse into one GEMM only when
// they share a format; every other weight is a unit of its own). Each unit
// has options (a scheme, or keeping it as stored) with the bytes it would
// store and the error it causes alone (api/sensitivity.h measures the
// model's output error on calibration text with only that unit quantized).
// Errors are taken as additive, as in HAWQ / mixed-precision GPTQ: the
// output error of a plan is predicted as the sum of its units' errors.
//
// choose_precision solves the resulting multiple-choice knapsack exactly by
// dynamic programming over sizes counted in buckets of at most 1/4096 of the
// variable bytes (rounded to nearest); a plan it returns is checked against
// the budget in exact bytes, so it never exceeds it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quant/scheme.h"

namespace qp::quant {

struct PrecisionOption {
  std::optional<QuantScheme> scheme;  // none: kept unquantized, 16-bit (below)
  int64_t bytes = 0;                  // what the unit's tensors store with it
  double error = 0;                   // output error with only this unit so quantized
  // Kept and stored as f16 although the source is fp32 ("f16"); without it a
  // kept unit stays as stored ("keep": F16 / BF16 sources).
  bool half = false;
};

struct PrecisionUnit {
  std::string name;                  // "layer.0.qkv", "bert.encoder.layer.0.intermediate.dense"
  std::vector<std::string> tensors;  // Hugging Face weight names
  std::vector<PrecisionOption> options;
};

struct PrecisionBudget {
  // Whole model, fixed bytes included: the plan with least predicted error
  // within it.
  std::optional<int64_t> max_bytes;
  // Without max_bytes: the smallest plan whose predicted error is at most this.
  std::optional<double> max_error;
  // Per unit (when not empty): options storing fewer bytes than this are not
  // allowed (raising the precision of units that failed a gate).
  std::vector<int64_t> min_unit_bytes;
};

struct PrecisionPlan {
  std::vector<int> choice;  // per unit: index into its options
  int64_t bytes = 0;        // fixed bytes + the chosen options'
  double error = 0;         // predicted: the sum of the chosen options' errors
};

// None when no plan fits: the budget is below the smallest plan or the
// error bound below what the largest reaches. Throws for a unit without
// options or a budget with neither bound.
std::optional<PrecisionPlan> choose_precision(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes,
                                              const PrecisionBudget& budget);

// The smallest and the largest plan's bytes (fixed included), for messages.
int64_t smallest_plan_bytes(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes);
int64_t largest_plan_bytes(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes);

// The option name: the scheme's name, "f16" or "keep".
std::string option_name(const PrecisionOption& option);
// Bits per weight of an option name: the scheme's width, 1.58 for ternary,
// 16 for "f16" / "keep"; 0 for a name that is none of these.
double option_bits(const std::string& name);
// The width part of an option name: "q4", "ternary", "f16", "keep".
std::string option_width(const std::string& name);

// {"units": [{name, tensors, chosen, options: [{scheme, bytes, error}]}], "bytes", "predicted_error"}.
nlohmann::json plan_to_json(const std::vector<PrecisionUnit>& units, const PrecisionPlan& plan);
// The units (with their measured options) back from plan_to_json's output;
// throws naming what is malformed.
std::vector<PrecisionUnit> units_from_json(const nlohmann::json& json);

}  // namespace qp::quant
