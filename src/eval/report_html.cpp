// The HTML report: one self-contained page (inline CSS and SVG, no scripts, no
// external URLs) with the Markdown report's tables, the gates, and per model
// and dataset three charts: primary metric vs size, latency percentiles, and
// per-layer error; per-tensor weight error from the conversion below them.
#include <algorithm>
#include <set>
#include <string>

#include "eval/report.h"
#include "eval/report_data.h"
#include "eval/svg_chart.h"

namespace qp::eval {
namespace {

using namespace report;
using svg::escape;

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1180px;
       padding: 0 16px; color: #1d2329; background: #fff; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #d8dde3; }
h3 { margin: 18px 0 6px; }
.summary { font-size: 16px; font-weight: 600; } .summary.fail { color: #b3141b; }
.about { color: #56606b; }
.note { border-left: 4px solid #c9a227; background: #fdf8e6; padding: 6px 10px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 8px 0 16px; }
th, td { border: 1px solid #d8dde3; padding: 3px 7px; }
th { background: #f1f4f7; text-align: left; } td.num { text-align: right; white-space: nowrap; }
tr.baseline td { color: #56606b; background: #fafbfc; }
tr.fail td { background: #fdeced; } td.verdict { font-weight: 700; text-align: center; }
td.verdict.pass { color: #1e7b34; } td.verdict.warn { color: #9a6700; }
td.verdict.fail, li.fail b, .fail { color: #b3141b; }
ul.gates li { margin: 3px 0; } li.warn b { color: #9a6700; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #e3e7eb; background: #fff; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2329; }
svg .chart-title { font-size: 13px; font-weight: 600; }
svg .tick, svg .value { fill: #56606b; font-size: 10px; } svg .caption { fill: #56606b; }
svg text.fail { fill: #b3141b; font-weight: 600; }
svg .grid { stroke: #eceff2; } svg .axis { stroke: #8a949e; } svg .frame { fill: none; stroke: #c9d0d6; }
details { margin: 8px 0 16px; } summary { cursor: pointer; color: #2b5d8c; }
footer { margin-top: 40px; color: #8a949e; font-size: 12px; }
)";

std::string table(const ModelView& m) {
  if (m.entries.empty()) return "<p>No comparison entries.</p>\n";
  std::string out = "<table>\n<thead><tr>";
  for (const std::string& h : table_header()) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const TableRow& row : table_rows(m.entries)) {
    const bool failed = row.passed && !*row.passed;
    out += row.baseline ? "<tr class=\"baseline\">" : failed ? "<tr class=\"fail\">" : "<tr>";
    for (size_t i = 0; i < row.cells.size(); ++i) {
      const bool last = i + 1 == row.cells.size();
      const char* cls = !last         ? (i >= 2 ? " class=\"num\"" : "")
                        : !row.passed ? " class=\"verdict\""
                        : *row.passed ? " class=\"verdict pass\""
                                      : " class=\"verdict fail\"";
      out += std::string("<td") + cls + ">" + escape(row.cells[i]) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

// The compression metrics of every entry (eval/compression_metrics.h), folded.
std::string compression_table(const ModelView& m) {
  const auto rows = compression_rows(m.entries);
  if (rows.empty()) return "";
  std::string out = "<details><summary>Compression metrics</summary>\n<table>\n<thead><tr>";
  for (const std::string& h : compression_header()) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i)
      out += std::string(i >= 3 ? "<td class=\"num\">" : "<td>") + escape(row[i]) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table></details>\n";
}

std::vector<std::string> datasets_of(const ModelView& m) {
  std::vector<std::string> out;
  for (const EntryView& e : m.entries)
    if (std::find(out.begin(), out.end(), e.dataset) == out.end()) out.push_back(e.dataset);
  return out;
}

bool failed(const EntryView& e) { return e.passed && !*e.passed; }

std::string accuracy_vs_size(const ModelView& m, const std::string& dataset, const std::string& metric) {
  svg::ScatterChart chart{
      dataset + ": " + metric + " vs model size", "model size (MB)", metric, {"fp32", "quantized"}, {}};
  bool baseline_added = false;
  for (const EntryView& e : m.entries) {
    if (e.dataset != dataset) continue;
    if (!baseline_added && e.baseline.size_mb && e.baseline.primary) {
      chart.points.push_back({e.baseline.format, *e.baseline.size_mb, *e.baseline.primary, 0, false});
      baseline_added = true;
    }
    if (e.quantized.size_mb && e.quantized.primary)
      chart.points.push_back({e.quantization, *e.quantized.size_mb, *e.quantized.primary, 1, failed(e)});
  }
  if (chart.points.empty()) return "";
  return svg::scatter_chart(chart);
}

std::string latency(const ModelView& m, const std::string& dataset) {
  svg::BarChart chart{dataset + ": single-query latency",
                      "latency (ms)",
                      {},
                      {"p50", "p95", "p99"},
                      {},
                      {},
                      svg::Scale::Linear};
  bool any = false, baseline_added = false;
  auto add = [&](const std::string& name, const RunView& r, bool fail) {
    chart.categories.push_back(name);
    chart.values.push_back({r.p50_ms, r.p95_ms, r.p99_ms});
    chart.category_failed.push_back(fail);
    any = any || r.p50_ms || r.p95_ms || r.p99_ms;
  };
  for (const EntryView& e : m.entries) {
    if (e.dataset != dataset) continue;
    if (!baseline_added) add(e.baseline.format, e.baseline, false);
    baseline_added = true;
    add(e.quantization, e.quantized, failed(e));
  }
  return any ? svg::bar_chart(chart) : "";
}

// Bars of relative MSE: one row per layer (or tensor) name, one bar per quantization.
std::string error_chart(const std::string& title, const std::vector<const EntryView*>& entries,
                        bool tensors) {
  svg::BarChart chart{title, "relative MSE vs fp32", {}, {}, {}, {}, svg::Scale::Auto};
  std::vector<const EntryView*> with_data;
  for (const EntryView* e : entries)
    if (!(tensors ? e->tensors : e->per_layer).empty()) with_data.push_back(e);
  for (const EntryView* e : with_data) {
    chart.series.push_back(e->quantization);
    for (const LayerError& l : tensors ? e->tensors : e->per_layer)
      if (std::find(chart.categories.begin(), chart.categories.end(), l.name) == chart.categories.end())
        chart.categories.push_back(l.name);
  }
  if (chart.categories.empty()) return "";
  if (tensors) chart.width = 1140;
  for (const std::string& name : chart.categories) {
    std::vector<std::optional<double>> row;
    for (const EntryView* e : with_data) {
      std::optional<double> v;
      for (const LayerError& l : tensors ? e->tensors : e->per_layer)
        if (l.name == name) v = l.relative_mse;
      row.push_back(v);
    }
    chart.values.push_back(std::move(row));
  }
  return svg::bar_chart(chart);
}

std::string dataset_charts(const ModelView& m, const std::string& dataset) {
  std::string metric;
  std::vector<const EntryView*> entries;
  for (const EntryView& e : m.entries)
    if (e.dataset == dataset) {
      entries.push_back(&e);
      if (metric.empty()) metric = e.baseline.primary_metric;
    }
  if (metric.empty()) metric = "primary metric";
  std::string charts = accuracy_vs_size(m, dataset, metric) + latency(m, dataset) +
                       error_chart(dataset + ": per-layer output error", entries, false);
  if (charts.empty()) return "";
  return "<h3>" + escape(dataset) + "</h3>\n<div class=\"charts\">" + charts + "</div>\n";
}

std::string tensor_charts(const ModelView& m) {
  std::vector<const EntryView*> conversions;  // one per quantization
  std::set<std::string> seen;
  for (const EntryView& e : m.entries)
    if (!e.tensors.empty() && seen.insert(e.quantization).second) conversions.push_back(&e);
  const std::string chart = error_chart("per-tensor weight error (conversion)", conversions, true);
  if (chart.empty()) return "";
  return "<details><summary>Per-tensor weight error of the conversion (" +
         std::to_string(conversions.front()->tensors.size()) + " tensors)</summary>\n" + chart +
         "</details>\n";
}

// Bits per tensor of each mixed-precision variant (bits: auto), one series each.
std::string mixed_plan_chart(const ModelView& m) {
  svg::BarChart chart{
      "bits per tensor (mixed precision)", "bits per weight", {}, {}, {}, {}, svg::Scale::Linear};
  std::vector<const EntryView*> plans;
  std::set<std::string> seen;
  for (const EntryView& e : m.entries)
    if (!e.mixed_plan.empty() && seen.insert(e.quantization).second) plans.push_back(&e);
  if (plans.empty()) return "";
  std::string summary;
  for (const EntryView* e : plans) {
    chart.series.push_back(e->quantization);
    summary += (summary.empty() ? "" : "; ") + e->quantization + ": " + plan_summary(e->mixed_plan);
    for (const PlanUnitView& u : e->mixed_plan)
      if (std::find(chart.categories.begin(), chart.categories.end(), u.name) == chart.categories.end())
        chart.categories.push_back(u.name);
  }
  chart.width = 1140;
  for (const std::string& name : chart.categories) {
    std::vector<std::optional<double>> row;
    for (const EntryView* e : plans) {
      std::optional<double> bits;
      for (const PlanUnitView& u : e->mixed_plan)
        if (u.name == name) bits = u.bits;
      row.push_back(bits);
    }
    chart.values.push_back(std::move(row));
  }
  return "<details open><summary>Mixed-precision plan (" + escape(summary) + ")</summary>\n" +
         svg::bar_chart(chart) + "</details>\n";
}

std::string model_section(const ModelView& m, size_t index) {
  std::string out = "<section class=\"model\" id=\"model-" + std::to_string(index) + "\">\n<h2>" +
                    escape(m.name) + "</h2>\n";
  std::string about;
  if (!m.task.empty()) about += "task: " + escape(m.task);
  if (!m.source.empty()) about += (about.empty() ? "" : " · ") + std::string("source: ") + escape(m.source);
  if (!m.tool.empty()) about += (about.empty() ? "" : " · ") + std::string("tool: ") + escape(m.tool);
  if (!about.empty()) out += "<p class=\"about\">" + about + "</p>\n";
  if (!m.note.empty()) out += "<p class=\"note\"><strong>Note:</strong> " + escape(m.note) + "</p>\n";
  out += table(m);
  for (const std::string& dataset : datasets_of(m)) out += dataset_charts(m, dataset);
  return out + mixed_plan_chart(m) + compression_table(m) + tensor_charts(m) + "</section>\n";
}

// Every gate of every job, passed ones too, folded away under the failures.
std::string all_gates_table(const std::vector<ModelView>& models) {
  std::string rows;
  size_t count = 0;
  for (const ModelView& m : models)
    for (const EntryView& e : m.entries)
      for (const GateView& g : e.gates) {
        ++count;
        const char* verdict = !g.passed   ? "<td class=\"verdict fail\">FAIL</td>"
                              : g.warning ? "<td class=\"verdict warn\">warning</td>"
                                          : "<td class=\"verdict pass\">PASS</td>";
        rows += "<tr><td>" + escape(m.name) + "</td><td>" + escape(e.quantization) + "</td><td>" +
                escape(e.dataset) + "</td><td>" + escape(g.name) + "</td><td class=\"num\">" +
                escape(number(g.value, 4)) + "</td><td class=\"num\">" + escape(number(g.threshold, 4)) +
                "</td>" + verdict + "<td>" + escape(g.detail) + "</td></tr>\n";
      }
  if (count == 0) return "";
  return "<details><summary>All gate results (" + std::to_string(count) +
         ")</summary>\n<table>\n<thead><tr><th>model</th><th>variant</th><th>dataset</th><th>gate</th>"
         "<th>value</th><th>threshold</th><th>result</th><th>detail</th></tr></thead>\n<tbody>\n" +
         rows + "</tbody></table></details>\n";
}

std::string gates_section(const std::vector<ModelView>& models) {
  std::string out = "<section id=\"gates\">\n<h2>Gates</h2>\n";
  const std::vector<GateNote> notes = gate_notes(models);
  if (notes.empty())
    out += "<p>Every gate passed, with no warnings.</p>\n";
  else
    out += "<ul class=\"gates\">\n";
  for (const GateNote& n : notes)
    out += std::string(n.gate.passed ? "<li class=\"warn\"><b>warning</b> "
                                     : "<li class=\"fail\"><b>FAIL</b> ") +
           escape(n.model) + ", " + escape(n.quantization) + " on " + escape(n.dataset) + ": <b>" +
           escape(n.gate.name) + "</b>: " + escape(n.gate.detail) + "</li>\n";
  if (!notes.empty()) out += "</ul>\n";
  out += all_gates_table(models);
  out += "<h3>What the gates check</h3>\n<ul>\n";
  for (const auto& [name, text] : gate_explanations())
    out += "<li><b>" + escape(name) + "</b>: " + escape(text) + "</li>\n";
  return out + "</ul>\n</section>\n";
}

}  // namespace

std::string render_html(const std::vector<nlohmann::json>& model_docs) {
  const std::vector<ModelView> models = read_models(model_docs);
  const Summary summary = summarize(models);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>quantpipe report</title>\n<style>" +
      std::string(kStyle) + "</style>\n</head>\n<body>\n<h1>quantpipe report</h1>\n";
  out += std::string("<p class=\"summary") + (summary.failed ? " fail" : "") + "\">" +
         escape(summary_text(summary)) + "</p>\n";
  if (models.empty())
    out += "<p>No comparison documents yet: run <code>quantpipe pipeline</code> first.</p>\n";
  if (models.size() > 1) {
    out += "<p>Models:";
    for (size_t i = 0; i < models.size(); ++i)
      out += " <a href=\"#model-" + std::to_string(i) + "\">" + escape(models[i].name) + "</a>";
    out += " · <a href=\"#gates\">gates</a></p>\n";
  }
  for (size_t i = 0; i < models.size(); ++i) out += model_section(models[i], i);
  out += gates_section(models);
  out +=
      "<footer>Written by quantpipe. This page is self-contained: no scripts, no external "
      "resources.</footer>\n";
  return out + "</body>\n</html>\n";
}

}  // namespace qp::eval
