#include "train/quantized_plan.h"

#include "core/error.h"
#include "core/json_read.h"

namespace qp::train {

QuantizedPlan read_quantized_plan(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "quantpipe.json";
  if (!std::filesystem::exists(file))
    fail(file.string(), ": not found; --quantized expects a directory written by quantpipe convert");
  QuantizedPlan plan;
  plan.dir = dir;
  const nlohmann::json j = read_json_object_file(file);
  try {
    const nlohmann::json& p = j.at("plan");
    plan.linear = quant::parse_scheme(p.at("linear").get<std::string>());
    const std::string embedding = p.at("embedding").get<std::string>();
    plan.quantize_embeddings = embedding != "keep";
    if (plan.quantize_embeddings) plan.embedding = quant::parse_scheme(embedding);
    plan.ternary_threshold = p.value("ternary_threshold", 0.5f);
    plan.half_scales = p.value("half_scales", false);
    plan.method = p.value("method", std::string("rtn"));
    plan.source = j.at("source").at("path").get<std::string>();
    for (const nlohmann::json& row : j.at("tensors")) {
      const std::string name = row.at("name").get<std::string>();
      if (row.at("action").get<std::string>() == "quantize") {
        plan.tensors[name] = quant::parse_scheme(row.at("scheme").get<std::string>());
      } else {
        plan.tensors[name] = std::nullopt;
        if (row.value("stored_dtype", std::string()) == "F16") plan.kept_f16.insert(name);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail(file.string(), ": not a quantpipe plan this version reads: ", e.what());
  }
  plan.has_fp16 = std::filesystem::exists(dir / "fp16");
  return plan;
}

quant::PlanOptions QuantizedPlan::plan_options() const {
  quant::PlanOptions options;
  options.linear = linear;
  if (quantize_embeddings) options.embedding = embedding;
  options.quantize_embeddings = quantize_embeddings;
  options.assigned = tensors;
  options.keep_f16 = kept_f16;
  return options;
}

}  // namespace qp::train
