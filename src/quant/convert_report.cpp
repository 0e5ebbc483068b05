// quantpipe.json: what a conversion did and what it cost, for people and for
// the pipeline (fingerprints decide whether work can be skipped).
#include "core/build_info.h"
#include "quant/convert.h"

namespace qp::quant {
namespace {

struct SizeTotals {
  int64_t fp32 = 0, source = 0, stored = 0;
  void add(const ConvertedTensor& t) {
    fp32 += t.fp32_bytes;
    source += t.source_bytes;
    stored += t.stored_bytes;
  }
  nlohmann::json json() const {
    return {{"fp32_bytes", fp32},
            {"source_bytes", source},
            {"stored_bytes", stored},
            {"ratio_vs_fp32", fp32 ? static_cast<double>(stored) / fp32 : 0.0}};
  }
};

bool is_embedding(const ConvertedTensor& t) { return t.plan.role == TensorRole::WordEmbeddings; }

nlohmann::json tensor_json(const ConvertedTensor& t) {
  nlohmann::json j = {{"name", t.plan.name},
                      {"shape", t.plan.shape},
                      {"source_dtype", std::string(dtype_name(t.plan.dtype))},
                      {"action", t.plan.action == TensorAction::Quantize ? "quantize" : "keep"},
                      {"reason", t.plan.reason},
                      {"source_bytes", t.source_bytes},
                      {"stored_bytes", t.stored_bytes}};
  if (t.plan.to_f16) j["stored_dtype"] = "F16";
  if (t.plan.scheme) {
    j["scheme"] = format_scheme(*t.plan.scheme);
    j["fell_back"] = t.plan.fell_back;
    j["method"] = t.method;
    j["zero_fraction"] = t.fp32_bytes ? static_cast<double>(t.zero_weights) / (t.fp32_bytes / 4) : 0.0;
    j["error"] = {{"relative_mse", t.error.relative_mse},
                  {"cosine", t.error.cosine},
                  {"max_abs", t.error.max_abs},
                  {"nan_inf", t.error.nan_inf}};
  }
  return j;
}

}  // namespace

nlohmann::json ConvertReport::to_json(const ConvertOptions& options) const {
  SizeTotals linear, embedding, kept;
  nlohmann::json tensor_rows = nlohmann::json::array();
  // Compression metrics: the share of all parameters stored quantized, and
  // linear weights the plan kept (sparsity: ConvertReport::sparsity).
  int64_t quantized_params = 0, all_params = 0, linear_kept = 0;
  for (const ConvertedTensor& t : tensors) {
    const int64_t numel = t.fp32_bytes / 4;
    all_params += numel;
    if (t.plan.action == TensorAction::Quantize) {
      quantized_params += numel;
    } else if (t.plan.role && !t.plan.is_bias &&
               role_info(*t.plan.role).quantization == RoleQuantization::Linear) {
      ++linear_kept;
    }
    if (t.plan.action == TensorAction::Keep)
      kept.add(t);
    else if (is_embedding(t))
      embedding.add(t);
    else
      linear.add(t);
    tensor_rows.push_back(tensor_json(t));
  }
  nlohmann::json overrides = nlohmann::json::array();
  for (const auto& [pattern, scheme] : options.plan.overrides)
    overrides.push_back({{"pattern", pattern}, {"scheme", format_scheme(scheme)}});
  const int64_t source = source_bytes(), stored = stored_bytes();
  nlohmann::json sizes = {
      {"original_bytes", source},
      {"quantized_bytes", stored},
      {"compression_ratio", compression_ratio()},
      {"linear", linear.json()},
      {"word_embeddings", embedding.json()},
      {"kept", kept.json()},
      {"sparsity", sparsity()},
      {"quantized_parameter_fraction", all_params ? static_cast<double>(quantized_params) / all_params : 0.0},
      {"linear_tensors_kept", linear_kept}};
  if (target_size_mb) {
    sizes["target_size_mb"] = *target_size_mb;
    sizes["quantized_mb"] = static_cast<double>(stored) / 1e6;
  }
  return {
      {"format", "quantpipe-native"},
      {"format_version", kNativeFormatVersion},
      {"tool", {{"name", "quantpipe"}, {"version", kVersion}, {"commit", kGitCommit}}},
      {"source", {{"path", source_path}, {"fingerprint", source_fingerprint}}},
      {"plan",
       {{"linear", format_scheme(options.plan.linear)},
        {"embedding", options.plan.quantize_embeddings ? format_scheme(options.plan.embedding) : "keep"},
        {"keep", options.plan.keep},
        {"overrides", overrides},
        {"ternary_threshold", options.quant.ternary_threshold},
        {"half_scales", options.quant.half_scales},
        {"method", method_name(options.method)},
        {"gptq", options.method == QuantMethod::Gptq ? nlohmann::json{{"damping", options.gptq.damping},
                                                                      {"block_size", options.gptq.block_size},
                                                                      {"act_order", options.gptq.act_order}}
                                                     : nlohmann::json()},
        {"calibration", options.calibration},
        {"mixed_precision", options.mixed_precision},
        {"awq", options.awq},
        {"finetune", options.finetune}}},
      {"sizes", sizes},
      {"timings", {{"convert_seconds", seconds}}},
      {"tensors", tensor_rows}};
}

}  // namespace qp::quant
