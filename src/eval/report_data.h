// The report's view of a comparison document: every field the Markdown and
// HTML renderers show, read once from the JSON into plain structs. Every
// field is optional on the way in (a partial document renders; what is
// missing shows as "–"). The document:
//
//   {"model", "source", "task", "note", "tool": {"version", "commit", "isa"},
//    "entries": [{"quantization", "dataset", "quantized_path",
//                 "conversion": quantpipe.json body (sizes, tensors[].error),
//                 "comparison": {"baseline": RUN, "quantized": RUN,
//                                "fidelity": {"mean_cosine", "min_cosine", "nan_inf",
//                                             "label_agreement", "per_layer": [...]},
//                                "accuracy_drop_points", "speedup"},
//                 "gates": [{"name", "passed", "warning", "value", "threshold", "detail"}],
//                 "passed"}]}
//   RUN = {"format", "primary_metric", "primary", "queries_per_minute", "tokens_per_second",
//          "model_size_mb", "memory": {"rss_avg_mb", "rss_peak_mb"},
//          "latency_ms": {"p50", "p95", "p99"}, ...}
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qp::eval::report {

struct RunView {
  std::string format;  // "fp32", "q8_sym_ch", …
  std::string primary_metric;
  std::optional<double> primary, queries_per_minute, tokens_per_second, size_mb;
  std::optional<double> rss_avg_mb, rss_peak_mb, p50_ms, p95_ms, p99_ms;
};

struct LayerError {
  std::string name;
  std::optional<double> cosine, relative_mse;
};

// One unit of a mixed-precision plan (conversion.plan.mixed_precision).
struct PlanUnitView {
  std::string name, scheme;  // "layer.0.qkv", "q4_affine_g64" / "keep"
  double bits = 0;           // per weight: the scheme's, 1.58 for ternary, 16 for keep
  std::optional<double> error;
};

struct GateView {
  std::string name, detail;
  bool passed = true, warning = false;
  std::optional<double> value, threshold;
};

struct EntryView {
  std::string quantization, dataset;
  RunView baseline, quantized;
  std::optional<double> mean_cosine, min_cosine, agreement, drop_points, speedup;
  std::optional<double> nan_inf;
  std::vector<LayerError> per_layer;  // fidelity.per_layer
  std::vector<LayerError> tensors;    // conversion.tensors with an error
  std::optional<double> compression_ratio;
  std::vector<PlanUnitView> mixed_plan;  // empty unless bits: auto chose bits per tensor
  nlohmann::json compression_metrics;    // eval/compression_metrics.h; null when absent
  std::vector<GateView> gates;
  std::optional<bool> passed;  // "passed", else from the gates; none when neither is there
};

struct ModelView {
  std::string name, source, task, tool;  // tool: "quantpipe 0.1.0 (abc123, avx2)"
  std::string note;                      // the config's `note:`, shown under the name
  std::vector<EntryView> entries;
};

struct Summary {
  size_t models = 0, jobs = 0, passed = 0, failed = 0, unknown = 0, warnings = 0;
};

std::vector<ModelView> read_models(const std::vector<nlohmann::json>& docs);
// "6 × q4, 2 × q8, 1 × keep": how many units took each width, narrowest first.
std::string plan_summary(const std::vector<PlanUnitView>& plan);
Summary summarize(const std::vector<ModelView>& models);
// "3 jobs across 1 model: 2 passed, 1 failed (1 warning)"
std::string summary_text(const Summary& summary);

// "0.834" style with `decimals` places, "–" when absent or not finite.
std::string number(const std::optional<double>& value, int decimals);
// "PASS", "FAIL" or "–".
std::string verdict(const std::optional<bool>& passed);
// The per-model table both reports print: the header, and for each entry the
// fp32 baseline row (left out when it repeats the one shown just before, as
// when several quantizations share a baseline run) and the quantized row, as
// plain (unescaped) text.
struct TableRow {
  std::vector<std::string> cells;
  bool baseline = false;
  std::optional<bool> passed;  // quantized rows only
};
const std::vector<std::string>& table_header();
std::vector<TableRow> table_rows(const std::vector<EntryView>& entries);

// The compression metrics (before / compression / after / fine-tuning) of
// each entry that has them, one row of plain text cells per entry.
const std::vector<std::string>& compression_header();
std::vector<std::vector<std::string>> compression_rows(const std::vector<EntryView>& entries);

// Every failed gate, then every warning, with the job it belongs to.
struct GateNote {
  std::string model, quantization, dataset;
  GateView gate;
};
std::vector<GateNote> gate_notes(const std::vector<ModelView>& models);
// One line per gate: what it checks (both reports print them).
const std::vector<std::pair<std::string, std::string>>& gate_explanations();

// The sentence both reports print about the size gate.
extern const char* const kSizeGateNote;

}  // namespace qp::eval::report
