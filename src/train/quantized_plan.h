// What a converted directory's quantpipe.json says about each tensor: the
// scheme it was quantized with, or kept (as stored, or as f16), and the
// options `convert` used. Fine-tuning fake-quantizes exactly these tensors
// with these schemes, and converts again with the same plan afterwards.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "quant/plan.h"
#include "quant/scheme.h"

namespace qp::train {

struct QuantizedPlan {
  std::filesystem::path dir;
  std::map<std::string, std::optional<quant::QuantScheme>> tensors;  // none: kept
  std::set<std::string> kept_f16;
  quant::QuantScheme linear, embedding;
  bool quantize_embeddings = true;
  float ternary_threshold = 0.5f;
  bool half_scales = false;      // scales rounded to half (a conversion made for GGUF)
  std::string method;            // how it was quantized: "rtn", "gptq", "awq"
  std::filesystem::path source;  // the source model it was converted from
  bool has_fp16 = false;         // <dir>/fp16/ exists (the dual output)

  // The plan options that reproduce this plan on the same source.
  quant::PlanOptions plan_options() const;
};

// Throws naming the file when quantpipe.json is missing, unreadable or lacks the plan.
QuantizedPlan read_quantized_plan(const std::filesystem::path& dir);

}  // namespace qp::train
