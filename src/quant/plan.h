// The per-tensor quantization plan: which Hugging Face tensor gets which
// scheme, chosen by the tensor's role in the architecture's tensor table
// (models/tensor_table.h). Defaults: the encoder's linear weights get the main
// scheme, the word embeddings 8-bit, and norms, biases, position / token-type
// and relative-position tables and the classification head stay as they
// are. --keep REGEX and --override REGEX=SCHEME act on HF tensor names; the
// last matching override wins. A scheme a tensor's shape cannot take (K not
// divisible by the group) falls back visibly: the plan records why.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "models/tensor_table.h"
#include "quant/scheme.h"

namespace qp::quant {

struct PlanOptions {
  QuantScheme linear = parse_scheme("q4_affine_g64");
  QuantScheme embedding = parse_scheme("q8_affine_g64");
  bool quantize_embeddings = true;
  std::vector<std::string> keep;                               // regexes on tensor names
  std::vector<std::pair<std::string, QuantScheme>> overrides;  // regex → scheme
  // Exact tensor names → scheme, or none to keep the tensor as stored: the
  // mixed-precision plan (quant/mixed_precision.h). Beats overrides.
  std::map<std::string, std::optional<QuantScheme>> assigned;
  // Assigned none and stored as f16 (fp32 sources): the plan's 16-bit option.
  std::set<std::string> keep_f16;
};

enum class TensorAction { Keep, Quantize };

struct PlannedTensor {
  std::string name;
  Shape shape;
  DType dtype = DType::F32;
  TensorAction action = TensorAction::Keep;
  std::optional<QuantScheme> scheme;  // set when action == Quantize
  std::optional<TensorRole> role;     // from the tensor table; none for tensors the engine does not use
  int layer = -1;                     // the encoder layer the table puts it in; -1: none
  bool is_bias = false;               // the module's ".bias"
  std::string reason;      // why: "linear", "word embeddings", "kept: normalisation", "fallback: …"
  bool fell_back = false;  // the requested scheme did not fit and another was used
  bool to_f16 = false;     // kept, but stored as f16 (an fp32 source; mixed precision's 16-bit option)

  // The MLX module path: "bert.encoder.layer.0.attention.self.query" for its ".weight".
  std::string module_path() const;
};

// "--override REGEX=SCHEME" → {regex, scheme}; throws naming the text.
std::pair<std::string, QuantScheme> parse_override(const std::string& text);

// Plans every tensor of the store, in its order, by the role `table` gives
// it. Throws for an invalid regex.
std::vector<PlannedTensor> make_plan(const WeightStore& weights, const TensorTable& table,
                                     const PlanOptions& options);

}  // namespace qp::quant
