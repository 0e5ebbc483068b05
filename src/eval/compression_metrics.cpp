#include "eval/compression_metrics.h"

#include <optional>
#include <string>

#include "eval/report_data.h"

namespace qp::eval {
namespace {

using nlohmann::json;

// j[path...] or null when any step is missing.
json at(const json& j, std::initializer_list<const char*> path) {
  const json* node = &j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return *node;
}

json number_or_null(const json& v) { return v.is_number() ? v : json(nullptr); }

// Bits per weight of a scheme name: 1.58 for ternary, else the q<bits> prefix.
json scheme_bits(const json& name) {
  if (!name.is_string()) return nullptr;
  const std::string s = name.get<std::string>();
  if (s.rfind("ternary", 0) == 0) return 1.58;
  if (s.size() > 1 && s[0] == 'q') {
    try {
      return std::stoi(s.substr(1));
    } catch (...) {
    }
  }
  return nullptr;
}

json parameter_count(const json& conversion) {
  const json tensors = at(conversion, {"tensors"});
  if (!tensors.is_array()) return nullptr;
  long long total = 0;
  for (const json& t : tensors) {
    long long n = 1;
    for (const json& d : t.value("shape", json::array())) n *= d.get<long long>();
    total += n;
  }
  return total;
}

std::string text(const json& v, int digits) {
  return report::number(v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt, digits);
}

}  // namespace

int compression_metric_count() { return 19; }

json compression_metrics(const json& entry) {
  const json& comparison = entry.value("comparison", json::object());
  const json& conversion = entry.value("conversion", json::object());
  const json finetune = at(conversion, {"plan", "finetune"});
  const bool tuned = finetune.is_object();
  // "After compression" is the model as converted: before fine-tuning when there was one.
  const json& as_converted =
      tuned && entry.contains("before_finetune") ? entry["before_finetune"] : comparison;

  json before = {{"size_mb", number_or_null(at(comparison, {"baseline", "model_size_mb"}))},
                 {"metric", number_or_null(at(comparison, {"baseline", "primary"}))},
                 {"parameters", parameter_count(conversion)}};
  std::string method = at(conversion, {"plan", "method"}).is_string()
                           ? at(conversion, {"plan", "method"}).get<std::string>()
                           : "";
  if (tuned) method += (method.empty() ? "" : "+") + std::string("qat");
  double seconds = at(conversion, {"timings", "convert_seconds"}).is_number()
                       ? at(conversion, {"timings", "convert_seconds"}).get<double>()
                       : 0.0;
  if (tuned && finetune.contains("seconds")) seconds += finetune["seconds"].get<double>();
  json compression = {
      {"method", method.empty() ? json(nullptr) : json(method)},
      {"bits", scheme_bits(at(conversion, {"plan", "linear"}))},
      {"sparsity", number_or_null(at(conversion, {"sizes", "sparsity"}))},
      {"ratio", number_or_null(at(conversion, {"sizes", "compression_ratio"}))},
      {"quantized_fraction", number_or_null(at(conversion, {"sizes", "quantized_parameter_fraction"}))},
      {"linear_tensors_kept", number_or_null(at(conversion, {"sizes", "linear_tensors_kept"}))},
      {"seconds", conversion.is_object() && !conversion.empty() ? json(seconds) : json(nullptr)}};
  json after = {{"size_mb", number_or_null(at(comparison, {"quantized", "model_size_mb"}))},
                {"metric", number_or_null(at(as_converted, {"quantized", "primary"}))},
                {"drop_points", number_or_null(at(as_converted, {"accuracy_drop_points"}))},
                {"cosine", number_or_null(at(as_converted, {"fidelity", "mean_cosine"}))},
                {"mse", number_or_null(at(as_converted, {"fidelity", "mse"}))}};
  json tuning = nullptr;
  if (tuned) {
    const json fp32 = before["metric"], converted = after["metric"];
    const json final_metric = number_or_null(at(comparison, {"quantized", "primary"}));
    json recovery = nullptr;
    if (fp32.is_number() && converted.is_number() && final_metric.is_number() &&
        fp32.get<double>() > converted.get<double>())
      recovery = (final_metric.get<double>() - converted.get<double>()) /
                 (fp32.get<double>() - converted.get<double>());
    tuning = {{"epochs", number_or_null(finetune.value("epochs", json()))},
              {"final_loss", number_or_null(finetune.value("final_loss", json()))},
              {"metric_after", final_metric},
              {"recovery", recovery}};
  }
  std::string summary = entry.value("quantization", std::string("?")) + " on " +
                        entry.value("dataset", std::string("?")) + ": " + text(before["metric"], 4) +
                        " fp32 → " + text(after["metric"], 4) + " converted";
  if (tuned)
    summary += " → " + text(tuning["metric_after"], 4) + " fine-tuned (recovery " +
               text(tuning["recovery"], 2) + ")";
  summary += ", " + text(compression["ratio"], 1) + "× smaller, sparsity " + text(compression["sparsity"], 3);
  return {{"before_compression", before},
          {"compression", compression},
          {"after_compression", after},
          {"finetune", tuning},
          {"summary", summary}};
}

}  // namespace qp::eval
