// quantpipe convert: a Hugging Face model directory → the native quantized
// format (docs/FORMAT.md): model.safetensors with MLX-layout packed codes,
// scales and biases; config.json with "quantization" as MLX reads it; the
// tokenizer and sentence-transformers files copied through; quantpipe.json
// with the plan, sizes, timings and per-tensor error statistics. Optionally
// the dequantized fp16 "dual output" in <out>/fp16/. Written atomically.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/model_dir.h"
#include "quant/error_stats.h"
#include "quant/format_table.h"
#include "quant/gptq.h"
#include "quant/plan.h"

namespace qp::quant {

// How codes are chosen: round to nearest, or GPTQ with calibration Hessians.
enum class QuantMethod { Rtn, Gptq, Awq };
std::string_view method_name(QuantMethod method);  // "rtn", "gptq", "awq"
// GPTQ and AWQ run the fp32 model over calibration text first.
inline bool needs_calibration(QuantMethod method) { return method != QuantMethod::Rtn; }
QuantMethod parse_method(std::string_view text);  // throws naming the text
// The method used when none is asked for: GPTQ at 3 bits or fewer and for
// ternary, where it keeps measurably more of the model (docs/QUANTIZATION.md:
// NLI q2 agreement 0.92 → 0.98, genre ternary accuracy 0.59 → 0.82); round to
// nearest at 4 bits and more, where both agree with fp32 on ≥ 98.8% of rows
// and rounding is ~30× faster (no calibration run).
QuantMethod default_method(const QuantScheme& linear);

struct ConvertOptions {
  PlanOptions plan;
  QuantOptions quant;
  QuantMethod method = QuantMethod::Rtn;
  GptqOptions gptq;
  // GPTQ: the calibration Hessian of each linear weight's input, by Hugging
  // Face tensor name (api/calibration.h fills it from an fp32 run). A planned
  // tensor without one is rounded to nearest, and its row says so.
  std::map<std::string, std::shared_ptr<const HessianAccumulator>> hessians;
  nlohmann::json calibration;       // stored in quantpipe.json as it is (null: none)
  nlohmann::json activation_stats;  // written as activation_stats.json beside the model (null: none)
  // The mixed-precision plan (api/convert.h fills it and plan.assigned):
  // stored in quantpipe.json as plan.mixed_precision (null: none).
  nlohmann::json mixed_precision;
  // Weights replaced before anything is planned or quantized, by Hugging
  // Face name (AWQ: scaled weights and the producers the inverse scales are
  // folded into, api/awq_fold.h); `awq_scaled` names the weights quantized
  // with AWQ scales, `awq` is stored in quantpipe.json as plan.awq.
  std::map<std::string, std::vector<float>> replaced_values;
  std::set<std::string> awq_scaled;
  nlohmann::json awq;
  // Quantization-aware fine-tuning that chose the replaced values (train/):
  // stored in quantpipe.json as plan.finetune (null: none).
  nlohmann::json finetune;
  bool force = false;      // replace an existing output
  bool emit_fp16 = false;  // also write <out>/fp16/
  std::optional<double> target_size_mb;
  // Loads a model directory as the engine does and throws what the loader
  // throws. convert_model calls it on the source before converting (so a
  // source the engine refuses is refused here too, not turned into a model
  // that fails later) and on the finished output before it replaces anything.
  // qp::convert (include/quantpipe/quantize.h) sets it to qp::Model::load.
  std::function<void(const std::filesystem::path& dir)> check_loads;
};

struct ConvertedTensor {
  PlannedTensor plan;
  int64_t source_bytes = 0;  // as stored in the source (F16 sources: 2 bytes per value)
  int64_t fp32_bytes = 0;    // numel · 4
  int64_t stored_bytes = 0;  // codes + scales + biases, or the kept tensor
  ErrorStats error;          // zero error for kept tensors
  std::string method;        // "rtn" or "gptq" for quantized tensors
  int64_t zero_weights = 0;  // quantized tensors: weights whose stored value is exactly 0
};

struct ConvertReport {
  std::vector<ConvertedTensor> tensors;
  std::string source_path;
  std::string source_fingerprint;
  double seconds = 0;
  std::optional<double> target_size_mb;

  int64_t source_bytes() const;
  int64_t stored_bytes() const;
  double compression_ratio() const;  // source ÷ stored bytes; 0 when nothing is stored
  double sparsity() const;           // zero weights ÷ quantized weights; 0 when none is quantized
  nlohmann::json to_json(const ConvertOptions& options) const;  // the quantpipe.json body
};

using ProgressFn = std::function<void(int index, int total, const ConvertedTensor& tensor)>;

// The plan alone (for --dry-run).
std::vector<PlannedTensor> plan_conversion(const std::filesystem::path& source, const PlanOptions& options);

// Converts; throws qp::Error naming the file and problem, leaving no partial
// output and any earlier output in place. Refuses NaN and infinite values in
// every floating-point tensor, kept ones too.
ConvertReport convert_model(const std::filesystem::path& source, const std::filesystem::path& out,
                            const ConvertOptions& options, const ProgressFn& progress = {});

// Fingerprint of a model directory's config.json and weight files.
std::string model_fingerprint(const std::filesystem::path& dir);

}  // namespace qp::quant
