#include "api/sensitivity.h"

#include <chrono>

#include "core/error.h"
#include "core/half.h"
#include "io/safetensors.h"
#include "quant/error_stats.h"
#include "quant/format_table.h"
#include "quant/gptq.h"
#include "quant/quantize_ref.h"

namespace qp {
namespace {

using quant::PlannedTensor;
using quant::PrecisionOption;
using quant::PrecisionUnit;
using quant::QuantScheme;

// The unit a planned tensor belongs to: q / k / v of a layer together.
std::string unit_name(const PlannedTensor& t) {
  if (t.role &&
      (*t.role == TensorRole::AttnQ || *t.role == TensorRole::AttnK || *t.role == TensorRole::AttnV))
    return cat("layer.", t.layer, ".qkv");
  return t.module_path();
}

// The candidate schemes for `bits` (-1: ternary) with `main`'s kind and
// granularity; ternary keeps the granularity.
std::optional<QuantScheme> candidate(const QuantScheme& main, int bits) {
  QuantScheme s = main;
  if (bits < 0) {
    s.kind = quant::QuantKind::Ternary;
    s.bits = 2;
  } else {
    if (s.kind == quant::QuantKind::Ternary) s.kind = quant::QuantKind::Affine;
    s.bits = bits;
  }
  try {
    quant::validate_scheme(s);
  } catch (const Error&) {
    return std::nullopt;
  }
  return s;
}

std::vector<float> rounded_to_f16(const std::vector<float>& values) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = f16_to_f32(f32_to_f16(values[i]));
  return out;
}

int64_t source_bytes(const PlannedTensor& t) {
  return shape_numel(t.shape) * static_cast<int64_t>(dtype_size(t.dtype));
}

}  // namespace

int64_t quantized_bytes(const QuantScheme& scheme, int64_t n, int64_t k) {
  const int bits = quant::weight_format(scheme).bits;
  const int64_t group = quant::storage_group(scheme, k);
  return n * (k * bits / 32) * 4 + 2 * n * (k / group) * 4;  // codes + fp32 scales and biases
}

std::vector<float> FakeQuantizer::apply(const std::string& name, const std::vector<float>& values, int64_t n,
                                        int64_t k, const QuantScheme& scheme) const {
  if (method == quant::QuantMethod::Gptq)
    if (auto h = hessians.find(name); h != hessians.end())
      return quant::gptq_quantize(name, values, n, k, h->second->matrix(), scheme, gptq, quant).dequantize();
  return quant::quantize_ref(name, values, n, k, scheme, quant).dequantize();
}

SensitivityResult precision_units(const std::vector<PlannedTensor>& plan, const quant::PlanOptions& main,
                                  const SensitivityOptions& options) {
  SensitivityResult result;
  std::map<std::string, size_t> index;
  std::vector<std::vector<const PlannedTensor*>> members;
  for (const PlannedTensor& t : plan) {
    if (t.action != quant::TensorAction::Quantize) {
      result.fixed_bytes += source_bytes(t);
      continue;
    }
    const std::string name = unit_name(t);
    auto [it, added] = index.emplace(name, result.units.size());
    if (added) {
      result.units.push_back({name, {}, {}});
      members.emplace_back();
    }
    result.units[it->second].tensors.push_back(t.name);
    members[it->second].push_back(&t);
  }
  for (size_t u = 0; u < result.units.size(); ++u) {
    const bool embedding = members[u].front()->role == TensorRole::WordEmbeddings;
    const QuantScheme& base = embedding ? main.embedding : main.linear;
    for (int bits : embedding ? options.embedding_bits : options.linear_bits) {
      const auto scheme = candidate(base, bits);
      if (!scheme) continue;
      int64_t bytes = 0;
      bool fits = true;
      for (const PlannedTensor* t : members[u]) {
        fits = fits && quant::scheme_fits(*scheme, t->shape[1]);
        bytes += quantized_bytes(*scheme, t->shape[0], t->shape[1]);
      }
      if (fits) result.units[u].options.push_back({scheme, bytes, 0.0});
    }
    if (options.keep_allowed || result.units[u].options.empty()) {
      // 16-bit: as stored for F16 / BF16 sources, as f16 for fp32 ones.
      bool fp32 = true;
      int64_t bytes = 0, half_bytes = 0;
      for (const PlannedTensor* t : members[u]) {
        fp32 = fp32 && t->dtype == DType::F32;
        bytes += source_bytes(*t);
        half_bytes += shape_numel(t->shape) * 2;
      }
      result.units[u].options.push_back({std::nullopt, fp32 ? half_bytes : bytes, 0.0, fp32});
    }
  }
  return result;
}

std::vector<float> model_outputs(const Model& model, const std::vector<Encoding>& encodings, int batch_size) {
  const auto rows = model.info().num_labels > 0 ? model.logits_for_encodings(encodings, batch_size)
                                                : model.embed_encodings(encodings, batch_size);
  std::vector<float> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return flat;
}

double relative_output_error(const std::vector<float>& quantized, const std::vector<float>& reference) {
  if (quantized.size() != reference.size())
    fail("[sensitivity] ", quantized.size(), " outputs against ", reference.size(), " reference outputs");
  return quant::compare_tensors(reference, quantized).relative_mse;
}

SensitivityResult measure_sensitivity(const std::filesystem::path& source,
                                      const std::vector<PlannedTensor>& plan, const quant::PlanOptions& main,
                                      const std::vector<Encoding>& encodings, const FakeQuantizer& quantizer,
                                      const SensitivityOptions& options, int threads,
                                      const SensitivityProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  SensitivityResult result = precision_units(plan, main, options);
  const std::vector<Encoding> rows(
      encodings.begin(),
      encodings.begin() + std::min<size_t>(encodings.size(), static_cast<size_t>(options.rows)));
  if (rows.empty()) fail(source.string(), ": sensitivity needs calibration rows");
  const std::vector<float> reference =
      model_outputs(Model::load(source, {threads}), rows, options.batch_size);
  const WeightStore weights = WeightStore::open_dir(source);

  int total = 0, done = 0;
  for (const PrecisionUnit& u : result.units)
    for (const PrecisionOption& o : u.options) total += o.scheme || o.half ? 1 : 0;
  for (PrecisionUnit& unit : result.units) {
    std::vector<std::vector<float>> originals;
    for (const std::string& name : unit.tensors) originals.push_back(to_f32(weights.require(name)));
    for (PrecisionOption& option : unit.options) {
      if (!option.scheme && !option.half) continue;  // kept as stored: the reference itself
      std::map<std::string, std::vector<float>> replaced;
      for (size_t i = 0; i < unit.tensors.size(); ++i) {
        const Shape& shape = weights.require(unit.tensors[i]).shape;
        replaced[unit.tensors[i]] =
            option.scheme ? quantizer.apply(unit.tensors[i], originals[i], shape[0], shape[1], *option.scheme)
                          : rounded_to_f16(originals[i]);
      }
      const Model model = Model::load_with_replaced_weights(source, {threads}, std::move(replaced));
      option.error = relative_output_error(model_outputs(model, rows, options.batch_size), reference);
      ++result.measurements;
      if (progress) progress(++done, total, unit.name + " " + quant::option_name(option));
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<float> outputs_with_quantized(const std::filesystem::path& source,
                                          const std::map<std::string, QuantScheme>& assignment,
                                          const std::vector<Encoding>& encodings,
                                          const FakeQuantizer& quantizer, int batch_size, int threads) {
  const WeightStore weights = WeightStore::open_dir(source);
  std::map<std::string, std::vector<float>> replaced;
  for (const auto& [name, scheme] : assignment) {
    const TensorView& view = weights.require(name);
    replaced[name] = quantizer.apply(name, to_f32(view), view.shape[0], view.shape[1], scheme);
  }
  return model_outputs(Model::load_with_replaced_weights(source, {threads}, std::move(replaced)), encodings,
                       batch_size);
}

}  // namespace qp
