// The JSON form of evaluation results (docs/RESULTS.md).
#include "eval/evaluation.h"

namespace qp::eval {
namespace {

nlohmann::json counts_json(const std::vector<std::string>& names, const std::vector<int64_t>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < names.size() && i < counts.size(); ++i) out[names[i]] = counts[i];
  return out;
}

}  // namespace

std::string_view to_string(EvalTask task) {
  switch (task) {
    case EvalTask::Classification:
      return "classification";
    case EvalTask::Similarity:
      return "similarity";
    case EvalTask::ZeroShot:
      return "zero-shot";
    case EvalTask::Unlabelled:
      return "unlabelled";
  }
  return "unknown";
}

nlohmann::json to_json(const RunResult& run) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : run.metrics) metrics[name] = value;
  return {
      {"model_path", run.model_path},
      {"format", run.format},
      {"dataset", run.dataset},
      {"task", std::string(to_string(run.task))},
      {"rows", run.rows},
      {"tokens", run.tokens},
      {"metrics", metrics},
      {"primary_metric", run.primary_metric},
      {"primary", run.primary},
      {"seconds", run.seconds},
      {"queries_per_minute", run.queries_per_minute},
      {"tokens_per_second", run.tokens_per_second},
      {"model_size_mb", run.model_size_mb},
      {"memory",
       {{"rss_avg_mb", run.memory.rss_avg},
        {"rss_peak_mb", run.memory.rss_peak},
        {"rss_before_load_mb", run.memory.rss_before_load},
        {"model_rss_avg_mb", run.memory.model_avg()},
        {"model_rss_peak_mb", run.memory.model_peak()},
        {"samples", run.memory.samples}}},
      {"latency_ms",
       {{"p50", run.latency.p50},
        {"p95", run.latency.p95},
        {"p99", run.latency.p99},
        {"mean", run.latency.mean},
        {"queries", run.latency.queries}}},
      {"predicted_counts", counts_json(run.label_names, run.predicted_counts)},
      {"gold_counts", counts_json(run.label_names, run.gold_counts)},
  };
}

nlohmann::json to_json(const Fidelity& fidelity) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerFidelity& layer : fidelity.per_layer)
    layers.push_back({{"name", layer.name}, {"cosine", layer.cosine}, {"relative_mse", layer.relative_mse}});
  return {
      {"mean_cosine", fidelity.mean_cosine},
      {"min_cosine", fidelity.min_cosine},
      {"mse", fidelity.mse},
      {"max_abs_diff", fidelity.max_abs_diff},
      {"nan_inf", fidelity.nan_inf},
      {"label_agreement",
       fidelity.label_agreement ? nlohmann::json(*fidelity.label_agreement) : nlohmann::json(nullptr)},
      {"per_layer", layers},
  };
}

nlohmann::json to_json(const Comparison& comparison) {
  nlohmann::json doc = {
      {"baseline", to_json(comparison.baseline)},
      {"quantized", to_json(comparison.quantized)},
      {"fidelity", to_json(comparison.fidelity)},
      {"accuracy_drop_points", comparison.accuracy_drop_points},
      {"speedup", comparison.speedup},
  };
  if (const auto& s = comparison.speed_check)
    doc["speed_check"] = {{"method", "interleaved"},
                          {"rounds", s->rounds},
                          {"rows", s->rows},
                          {"baseline_seconds", s->baseline_seconds},
                          {"quantized_seconds", s->quantized_seconds},
                          {"speedup", s->speedup}};
  return doc;
}

}  // namespace qp::eval
