// Per-tensor sensitivity: the model's output error on calibration text when
// one unit of weights alone is quantized (quantized, dequantized and run in
// fp32 by the engine itself), for each candidate precision. The measured
// units feed the mixed-precision planner (quant/mixed_precision.h).
//
// Output error: Σ‖y_q − y‖² / Σ‖y‖² over the calibration rows, where y is
// what the model gives its users: logits for a classification head, else the
// pooled (and, for sentence-transformers, normalised) embedding.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/convert.h"
#include "quant/mixed_precision.h"
#include "quantpipe/model.h"

namespace qp {

struct SensitivityOptions {
  // Bits tried for linear weights and for the word embeddings ("ternary" is
  // -1); the main scheme's kind and granularity are kept. Units may also stay
  // as stored (keep_allowed).
  std::vector<int> linear_bits = {8, 6, 4, 3, 2, -1};
  std::vector<int> embedding_bits = {8, 6, 4, 3};
  bool keep_allowed = true;
  int rows = 32;  // calibration rows run per measurement (the first of the set)
  int batch_size = 16;
};

struct SensitivityResult {
  std::vector<quant::PrecisionUnit> units;
  int64_t fixed_bytes = 0;  // tensors outside every unit, as the plan stores them
  int measurements = 0;     // forward passes run
  double seconds = 0;
};

// How one tensor is quantized for a measurement: round to nearest, or GPTQ
// with its calibration Hessian when the conversion uses GPTQ and has one.
struct FakeQuantizer {
  quant::QuantMethod method = quant::QuantMethod::Rtn;
  quant::GptqOptions gptq;
  quant::QuantOptions quant;
  std::map<std::string, std::shared_ptr<const quant::HessianAccumulator>> hessians;

  // Quantized and dequantized values of `values` ([n × k]).
  std::vector<float> apply(const std::string& name, const std::vector<float>& values, int64_t n, int64_t k,
                           const quant::QuantScheme& scheme) const;
};

// Stored bytes of an [n × k] weight under `scheme` (codes, scales, biases).
int64_t quantized_bytes(const quant::QuantScheme& scheme, int64_t n, int64_t k);

// The units of a conversion plan: every tensor the plan quantizes, q / k / v
// of a layer together; the options are the candidates that fit its shape,
// with their bytes and, after measure_sensitivity, their errors.
SensitivityResult precision_units(const std::vector<quant::PlannedTensor>& plan,
                                  const quant::PlanOptions& main, const SensitivityOptions& options);

// The output the error is measured on, for `encodings`: logits of a
// classification head, else embeddings. Rows concatenated.
std::vector<float> model_outputs(const Model& model, const std::vector<Encoding>& encodings, int batch_size);

// Σ‖a − b‖² / Σ‖b‖².
double relative_output_error(const std::vector<float>& quantized, const std::vector<float>& reference);

using SensitivityProgress = std::function<void(int done, int total, const std::string& unit)>;

// Measures every option of every unit. Throws what loading or running the
// model throws.
SensitivityResult measure_sensitivity(const std::filesystem::path& source,
                                      const std::vector<quant::PlannedTensor>& plan,
                                      const quant::PlanOptions& main, const std::vector<Encoding>& encodings,
                                      const FakeQuantizer& quantizer, const SensitivityOptions& options,
                                      int threads = 0, const SensitivityProgress& progress = {});

// Runs the fp32 model with every tensor of `assignment` quantized as given
// (the whole mixed plan at once) and returns its outputs.
std::vector<float> outputs_with_quantized(const std::filesystem::path& source,
                                          const std::map<std::string, quant::QuantScheme>& assignment,
                                          const std::vector<Encoding>& encodings,
                                          const FakeQuantizer& quantizer, int batch_size, int threads = 0);

}  // namespace qp
