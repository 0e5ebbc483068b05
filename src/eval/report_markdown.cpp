// The Markdown report: a summary line, one table per model, then the gates.
#include <set>
#include <string>

#include "eval/report.h"
#include "eval/report_data.h"
#include "eval/text_substitution.h"

namespace qp::eval {
namespace {

using namespace report;

// Text safe inside a Markdown table cell: no raw HTML, no cell breaks, one line.
constexpr CharSubstitution kMarkdownCell[] = {
    {'<', "&lt;"}, {'>', "&gt;"}, {'|', "\\|"}, {'\n', " "}, {'\r', " "},
};

std::string md(const std::string& text) { return substitute_chars(text, kMarkdownCell); }

std::string table_line(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const std::string& cell : cells) line.append(" ").append(md(cell)).append(" |");
  return line + "\n";
}

// Bits per tensor of each mixed-precision variant, once per variant.
std::string mixed_plans(const ModelView& m) {
  std::string out;
  std::set<std::string> seen;
  for (const EntryView& e : m.entries) {
    if (e.mixed_plan.empty() || !seen.insert(e.quantization).second) continue;
    out += "Mixed-precision plan of " + md(e.quantization) + " (" + md(plan_summary(e.mixed_plan)) +
           "):\n\n" + table_line({"tensor", "scheme", "bits", "output error alone"}) +
           "|---|---|---:|---:|\n";
    for (const PlanUnitView& u : e.mixed_plan)
      out += table_line({u.name, u.scheme, number(u.bits, u.bits == 1.58 ? 2 : 0), number(u.error, 8)});
    out += "\n";
  }
  return out;
}

// The compression metrics of every entry (eval/compression_metrics.h).
std::string compression_table(const ModelView& m) {
  const auto rows = compression_rows(m.entries);
  if (rows.empty()) return "";
  const std::vector<std::string>& header = compression_header();
  std::string out = "Compression metrics (before, compression, after, fine-tuning):\n\n" +
                    table_line(header) + "|---|---|---|";
  for (size_t i = 3; i < header.size(); ++i) out += "---:|";
  out += "\n";
  for (const auto& row : rows) out += table_line(row);
  return out + "\n";
}

std::string model_section(const ModelView& m) {
  std::string out = "## " + md(m.name) + "\n\n";
  std::string about;
  if (!m.task.empty()) about += "task: " + md(m.task);
  if (!m.source.empty()) about += (about.empty() ? "" : ", ") + std::string("source: ") + md(m.source);
  if (!m.tool.empty()) about += (about.empty() ? "" : ", ") + std::string("tool: ") + md(m.tool);
  if (!about.empty()) out += about + "\n\n";
  if (!m.note.empty()) out += "> **Note:** " + md(m.note) + "\n\n";
  if (m.entries.empty()) return out + "No comparison entries.\n\n";

  const std::vector<std::string>& header = table_header();
  out += table_line(header) + "|---|---|";
  for (size_t i = 2; i < header.size(); ++i) out += "---:|";
  out += "\n";
  for (TableRow& row : table_rows(m.entries)) {
    if (row.passed) row.cells.back() = "**" + row.cells.back() + "**";
    out += table_line(row.cells);
  }
  return out + "\n" + mixed_plans(m) + compression_table(m);
}

std::string gates_section(const std::vector<ModelView>& models) {
  std::string out = "## Gates\n\n";
  const std::vector<GateNote> notes = gate_notes(models);
  if (notes.empty()) out += "Every gate passed, with no warnings.\n\n";
  for (const GateNote& n : notes)
    out += std::string("- **") + (n.gate.passed ? "warning" : "FAIL") + "** " + md(n.model) + ", " +
           md(n.quantization) + " on " + md(n.dataset) + ": " + md(n.gate.name) + ": " + md(n.gate.detail) +
           "\n";
  if (!notes.empty()) out += "\n";
  out += "What the gates check:\n\n";
  for (const auto& [name, text] : gate_explanations()) out += "- **" + name + "**: " + md(text) + "\n";
  return out;
}

}  // namespace

std::string render_markdown(const std::vector<nlohmann::json>& model_docs) {
  const std::vector<ModelView> models = read_models(model_docs);
  std::string out = "# quantpipe report\n\n" + summary_text(summarize(models)) + ".\n\n";
  if (models.empty()) out += "No comparison documents yet: run `quantpipe pipeline` first.\n\n";
  for (const ModelView& m : models) out += model_section(m);
  return out + gates_section(models);
}

}  // namespace qp::eval
