// Reading comparison documents into the report's view (see report_data.h).
// Every accessor tolerates a missing key or a value of the wrong type.
#include "eval/report_data.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>

#include "quant/mixed_precision.h"

namespace qp::eval::report {
namespace {

using nlohmann::json;

// The value at `path` inside nested objects, or nullptr.
const json* at(const json& j, std::initializer_list<const char*> path) {
  const json* node = &j;
  for (const char* key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

std::optional<double> num(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

std::string str(const json& j, std::initializer_list<const char*> path, const std::string& fallback = "") {
  const json* v = at(j, path);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) return v->dump();
  return fallback;
}

const json& array_at(const json& j, std::initializer_list<const char*> path) {
  static const json empty = json::array();
  const json* v = at(j, path);
  return v && v->is_array() ? *v : empty;
}

RunView read_run(const json& run, const std::string& fallback_format) {
  RunView r;
  r.format = str(run, {"format"}, fallback_format);
  r.primary_metric = str(run, {"primary_metric"});
  r.primary = num(run, {"primary"});
  if (!r.primary && !r.primary_metric.empty()) r.primary = num(run, {"metrics", r.primary_metric.c_str()});
  r.queries_per_minute = num(run, {"queries_per_minute"});
  r.tokens_per_second = num(run, {"tokens_per_second"});
  r.size_mb = num(run, {"model_size_mb"});
  // The model's own memory when the run measured the process before loading
  // it; older results have only the whole process's.
  r.rss_avg_mb = num(run, {"memory", "model_rss_avg_mb"});
  r.rss_peak_mb = num(run, {"memory", "model_rss_peak_mb"});
  if (!r.rss_peak_mb) {
    r.rss_avg_mb = num(run, {"memory", "rss_avg_mb"});
    r.rss_peak_mb = num(run, {"memory", "rss_peak_mb"});
  }
  r.p50_ms = num(run, {"latency_ms", "p50"});
  r.p95_ms = num(run, {"latency_ms", "p95"});
  r.p99_ms = num(run, {"latency_ms", "p99"});
  return r;
}

std::vector<LayerError> read_errors(const json& rows, std::initializer_list<const char*> mse_path,
                                    std::initializer_list<const char*> cosine_path) {
  std::vector<LayerError> out;
  for (const json& row : rows) {
    LayerError e{str(row, {"name"}), num(row, cosine_path), num(row, mse_path)};
    if (!e.name.empty() && (e.relative_mse || e.cosine)) out.push_back(std::move(e));
  }
  return out;
}

std::vector<GateView> read_gates(const json& rows) {
  std::vector<GateView> out;
  for (const json& row : rows) {
    if (!row.is_object()) continue;
    GateView g;
    g.name = str(row, {"name"}, "gate");
    g.detail = str(row, {"detail"});
    const json* passed = at(row, {"passed"});
    const json* warning = at(row, {"warning"});
    g.passed = !(passed && passed->is_boolean()) || passed->get<bool>();
    g.warning = warning && warning->is_boolean() && warning->get<bool>();
    g.value = num(row, {"value"});
    g.threshold = num(row, {"threshold"});
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<PlanUnitView> read_plan(const json& units) {
  std::vector<PlanUnitView> out;
  if (!units.is_array()) return out;
  for (const json& u : units) {
    PlanUnitView v{str(u, {"name"}, "?"), str(u, {"chosen"}, "?"), 0, std::nullopt};
    v.bits = quant::option_bits(v.scheme);
    if (const json* options = at(u, {"options"}); options && options->is_array())
      for (const json& o : *options)
        if (str(o, {"scheme"}) == v.scheme) v.error = num(o, {"error"});
    out.push_back(std::move(v));
  }
  return out;
}

EntryView read_entry(const json& e) {
  EntryView v;
  v.quantization = str(e, {"quantization"}, str(e, {"comparison", "quantized", "format"}, "?"));
  v.dataset = str(e, {"dataset"}, str(e, {"comparison", "baseline", "dataset"}, "?"));
  const json* c = at(e, {"comparison"});
  const json& comparison = c ? *c : e;
  if (const json* b = at(comparison, {"baseline"})) v.baseline = read_run(*b, "fp32");
  if (const json* q = at(comparison, {"quantized"})) v.quantized = read_run(*q, v.quantization);
  if (v.baseline.format.empty()) v.baseline.format = "fp32";
  if (v.quantized.format.empty()) v.quantized.format = v.quantization;
  v.mean_cosine = num(comparison, {"fidelity", "mean_cosine"});
  v.min_cosine = num(comparison, {"fidelity", "min_cosine"});
  v.agreement = num(comparison, {"fidelity", "label_agreement"});
  v.nan_inf = num(comparison, {"fidelity", "nan_inf"});
  v.drop_points = num(comparison, {"accuracy_drop_points"});
  v.speedup = num(comparison, {"speedup"});
  v.per_layer = read_errors(array_at(comparison, {"fidelity", "per_layer"}), {"relative_mse"}, {"cosine"});
  v.tensors =
      read_errors(array_at(e, {"conversion", "tensors"}), {"error", "relative_mse"}, {"error", "cosine"});
  v.compression_ratio = num(e, {"conversion", "sizes", "compression_ratio"});
  v.mixed_plan = read_plan(array_at(e, {"conversion", "plan", "mixed_precision", "units"}));
  if (e.contains("compression_metrics") && e["compression_metrics"].is_object())
    v.compression_metrics = e["compression_metrics"];
  v.gates = read_gates(array_at(e, {"gates"}));
  if (const json* p = at(e, {"passed"}); p && p->is_boolean()) {
    v.passed = p->get<bool>();
  } else if (!v.gates.empty()) {
    v.passed = true;
    for (const GateView& g : v.gates) v.passed = *v.passed && g.passed;
  }
  return v;
}

}  // namespace

std::string plan_summary(const std::vector<PlanUnitView>& plan) {
  std::map<double, std::pair<std::string, int>> by_bits;
  for (const PlanUnitView& u : plan) {
    auto& [label, count] = by_bits[u.bits];
    label = quant::option_width(u.scheme);
    ++count;
  }
  std::string out;
  for (const auto& [bits, entry] : by_bits)
    out += (out.empty() ? "" : ", ") + std::to_string(entry.second) + " × " + entry.first;
  return out;
}

const char* const kSizeGateNote =
    "A quantized model larger than its target by more than the tolerance fails. A model far "
    "below the target passes with a warning: a size target is a budget, not a goal, so being smaller is "
    "never a failure by itself; the accuracy-drop and collapse gates are what guard a small model's quality.";

std::vector<ModelView> read_models(const std::vector<json>& docs) {
  std::vector<ModelView> models;
  for (const json& doc : docs) {
    ModelView m;
    m.name = str(doc, {"model"}, "(unnamed model)");
    m.source = str(doc, {"source"});
    m.task = str(doc, {"task"});
    m.note = str(doc, {"note"});
    const std::string version = str(doc, {"tool", "version"}), commit = str(doc, {"tool", "commit"}),
                      isa = str(doc, {"tool", "isa"});
    if (!version.empty() || !commit.empty()) {
      m.tool = "quantpipe " + version;
      if (!commit.empty() || !isa.empty()) m.tool += " (" + commit + (isa.empty() ? "" : ", " + isa) + ")";
    }
    for (const json& entry : array_at(doc, {"entries"}))
      if (entry.is_object()) m.entries.push_back(read_entry(entry));
    models.push_back(std::move(m));
  }
  return models;
}

Summary summarize(const std::vector<ModelView>& models) {
  Summary s;
  s.models = models.size();
  for (const ModelView& m : models)
    for (const EntryView& e : m.entries) {
      ++s.jobs;
      if (!e.passed)
        ++s.unknown;
      else if (*e.passed)
        ++s.passed;
      else
        ++s.failed;
      for (const GateView& g : e.gates) s.warnings += g.warning ? 1 : 0;
    }
  return s;
}

std::string summary_text(const Summary& s) {
  std::string line = std::to_string(s.jobs) + (s.jobs == 1 ? " job" : " jobs") + " across " +
                     std::to_string(s.models) + (s.models == 1 ? " model" : " models") + ": " +
                     std::to_string(s.passed) + " passed, " + std::to_string(s.failed) + " failed";
  if (s.unknown) line += ", " + std::to_string(s.unknown) + " without gate results";
  if (s.warnings) line += " (" + std::to_string(s.warnings) + (s.warnings == 1 ? " warning)" : " warnings)");
  return line;
}

namespace {

std::optional<double> metric_at(const nlohmann::json& m, const char* group, const char* key) {
  if (!m.is_object() || !m.contains(group) || !m[group].is_object()) return std::nullopt;
  const nlohmann::json& v = m[group].value(key, nlohmann::json());
  return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
}

}  // namespace

const std::vector<std::string>& compression_header() {
  static const std::vector<std::string> header = {"variant",
                                                  "dataset",
                                                  "method",
                                                  "bits",
                                                  "sparsity",
                                                  "ratio",
                                                  "params quantized",
                                                  "fp32",
                                                  "converted",
                                                  "drop (points)",
                                                  "cosine",
                                                  "MSE",
                                                  "fine-tuned epochs",
                                                  "after fine-tuning",
                                                  "recovery",
                                                  "seconds"};
  return header;
}

std::vector<std::vector<std::string>> compression_rows(const std::vector<EntryView>& entries) {
  std::vector<std::vector<std::string>> rows;
  for (const EntryView& e : entries) {
    const nlohmann::json& m = e.compression_metrics;
    if (!m.is_object()) continue;
    const nlohmann::json& method =
        m.value("compression", nlohmann::json::object()).value("method", nlohmann::json());
    rows.push_back(
        {e.quantization, e.dataset, method.is_string() ? method.get<std::string>() : "–",
         number(metric_at(m, "compression", "bits"), 2), number(metric_at(m, "compression", "sparsity"), 3),
         number(metric_at(m, "compression", "ratio"), 2),
         number(metric_at(m, "compression", "quantized_fraction"), 3),
         number(metric_at(m, "before_compression", "metric"), 4),
         number(metric_at(m, "after_compression", "metric"), 4),
         number(metric_at(m, "after_compression", "drop_points"), 2),
         number(metric_at(m, "after_compression", "cosine"), 4),
         number(metric_at(m, "after_compression", "mse"), 5), number(metric_at(m, "finetune", "epochs"), 0),
         number(metric_at(m, "finetune", "metric_after"), 4), number(metric_at(m, "finetune", "recovery"), 2),
         number(metric_at(m, "compression", "seconds"), 1)});
  }
  return rows;
}

std::string number(const std::optional<double>& value, int decimals) {
  if (!value || !std::isfinite(*value)) return "\u2013";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, *value);
  return buffer;
}

const std::vector<std::string>& table_header() {
  static const std::vector<std::string> header = {"dataset",
                                                  "variant",
                                                  "primary",
                                                  "queries/min",
                                                  "tokens/s",
                                                  "size MB",
                                                  "model RSS avg / peak MB",
                                                  "latency p50 / p95 / p99 ms",
                                                  "cosine mean / min",
                                                  "agreement",
                                                  "drop (points)",
                                                  "speedup",
                                                  "result"};
  return header;
}

namespace {

std::vector<std::string> run_cells(const std::string& dataset, const RunView& r) {
  std::string primary = number(r.primary, 4);
  if (!r.primary_metric.empty()) primary = r.primary_metric + " " + primary;
  return {dataset,
          r.format,
          primary,
          number(r.queries_per_minute, 0),
          number(r.tokens_per_second, 0),
          number(r.size_mb, 1),
          number(r.rss_avg_mb, 0) + " / " + number(r.rss_peak_mb, 0),
          number(r.p50_ms, 2) + " / " + number(r.p95_ms, 2) + " / " + number(r.p99_ms, 2)};
}

}  // namespace

std::vector<TableRow> table_rows(const std::vector<EntryView>& entries) {
  std::vector<TableRow> rows;
  std::vector<std::string> last_baseline;
  for (const EntryView& e : entries) {
    TableRow base{run_cells(e.dataset, e.baseline), true, std::nullopt};
    if (base.cells != last_baseline) {
      last_baseline = base.cells;
      base.cells.insert(base.cells.end(), {"", "", "", "", ""});
      rows.push_back(std::move(base));
    }
    TableRow quant{run_cells(e.dataset, e.quantized), false, e.passed};
    const std::string speedup = e.speedup ? number(e.speedup, 2) + "x" : number(e.speedup, 2);
    quant.cells.insert(quant.cells.end(),
                       {number(e.mean_cosine, 4) + " / " + number(e.min_cosine, 4), number(e.agreement, 3),
                        number(e.drop_points, 2), speedup, verdict(e.passed)});
    rows.push_back(std::move(quant));
  }
  return rows;
}

std::vector<GateNote> gate_notes(const std::vector<ModelView>& models) {
  std::vector<GateNote> failed, warned;
  for (const ModelView& m : models)
    for (const EntryView& e : m.entries)
      for (const GateView& g : e.gates) {
        if (!g.passed) failed.push_back({m.name, e.quantization, e.dataset, g});
        if (g.passed && g.warning) warned.push_back({m.name, e.quantization, e.dataset, g});
      }
  failed.insert(failed.end(), warned.begin(), warned.end());
  return failed;
}

const std::vector<std::pair<std::string, std::string>>& gate_explanations() {
  static const std::vector<std::pair<std::string, std::string>> lines = {
      {"accuracy_drop",
       "fp32 minus quantized primary metric, in points, at most max_accuracy_drop, a fraction of the "
       "metric's scale shown here in points (0.015 is 1.50 points) (skipped when no limit is set or "
       "the task has no gold labels)."},
      {"speedup", "quantized queries per minute divided by fp32 queries per minute, at least the floor."},
      {"size", kSizeGateNote},
      {"collapse",
       "every class fp32 predicts is still predicted, label agreement with fp32 (or, for "
       "embeddings, mean cosine) is above its floor, and the outputs hold no NaN or Inf."}};
  return lines;
}

std::string verdict(const std::optional<bool>& passed) {
  if (!passed) return "\u2013";
  return *passed ? "PASS" : "FAIL";
}

}  // namespace qp::eval::report
