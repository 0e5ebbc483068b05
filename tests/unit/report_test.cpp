// Markdown and HTML reports from hand-built comparison documents and from the
// sample fixtures in tests/golden/report/; write_reports on a workspace.
#include "eval/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/svg_chart.h"
#include "test_paths.h"

namespace qp::eval {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json run(const std::string& format, double primary, double qpm, double size, double p50) {
  return {
      {"format", format},
      {"dataset", "genre"},
      {"primary_metric", "accuracy"},
      {"primary", primary},
      {"queries_per_minute", qpm},
      {"tokens_per_second", qpm / 1.5},
      {"model_size_mb", size},
      {"memory", {{"rss_avg_mb", 98.2}, {"rss_peak_mb", 104.5}, {"samples", 64}}},
      {"latency_ms", {{"p50", p50}, {"p95", p50 + 1}, {"p99", p50 + 2}, {"mean", p50}, {"queries", 200}}}};
}

json gate(const std::string& name, bool passed, const std::string& detail, bool warning = false) {
  return {{"name", name}, {"passed", passed}, {"warning", warning},
          {"value", 1},   {"threshold", 1},   {"detail", detail}};
}

// One model, two entries: q8 passes, q4 fails its accuracy gate and warns on size.
json hand_built_doc(const std::string& model = "minilm-l6-genre") {
  const json baseline = run("fp32", 0.834, 9803.9, 90.9, 6.08);
  json q8 = {{"quantization", "q8_sym_ch"},
             {"dataset", "genre"},
             {"comparison",
              {{"baseline", baseline},
               {"quantized", run("q8_sym_ch", 0.833, 17543.9, 23.6, 3.38)},
               {"fidelity",
                {{"mean_cosine", 0.99962},
                 {"min_cosine", 0.9971},
                 {"nan_inf", 0},
                 {"label_agreement", 0.993},
                 {"per_layer", {{{"name", "layer.0.out"}, {"cosine", 0.99999}, {"relative_mse", 1.1e-6}}}}}},
               {"accuracy_drop_points", 0.1},
               {"speedup", 1.79}}},
             {"gates", {gate("accuracy_drop", true, "accuracy dropped 0.10 points")}},
             {"passed", true}};
  json q4 = {
      {"quantization", "q4_aff_g64"},
      {"dataset", "genre"},
      {"conversion",
       {{"tensors",
         {{{"name", "encoder.layer.0.attention.self.query.weight"}, {"error", {{"relative_mse", 3.9e-3}}}},
          {{"name", "embeddings.LayerNorm.weight"}, {"action", "keep"}}}}}},
      {"comparison",
       {{"baseline", baseline},
        {"quantized", run("q4_aff_g64", 0.8109, 15189.9, 14.6, 3.91)},
        {"fidelity", {{"mean_cosine", 0.9871}, {"min_cosine", 0.9013}, {"label_agreement", 0.941}}},
        {"accuracy_drop_points", 2.31},
        {"speedup", 1.55}}},
      {"gates",
       {gate("accuracy_drop", false, "accuracy dropped 2.31 points, limit 1.00: fails by 1.31 points"),
        gate("size", true, "size 14.60 MB far below the 24.00 MB target", true)}},
      {"passed", false}};
  return {{"model", model},
          {"source", "/models/minilm"},
          {"task", "classification"},
          {"tool", {{"version", "0.1.0"}, {"commit", "abc123"}, {"isa", "avx2"}}},
          {"entries", {q8, q4}}};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<json> sample_docs() {
  std::vector<json> docs;
  for (const char* name : {"sample_comparison.json", "sample_similarity_comparison.json"})
    docs.push_back(json::parse(read_text(test::source_dir() / "tests/golden/report" / name)));
  return docs;
}

TEST(ReportMarkdown, ShowsTheNumbersOfEveryJob) {
  const std::string md = render_markdown({hand_built_doc()});
  EXPECT_TRUE(has(md, "2 jobs across 1 model: 1 passed, 1 failed (1 warning)")) << md;
  EXPECT_TRUE(has(md, "## minilm-l6-genre")) << md;
  EXPECT_TRUE(has(md, "tool: quantpipe 0.1.0 (abc123, avx2)")) << md;
  for (const char* number :
       {"accuracy 0.8340", "accuracy 0.8330", "accuracy 0.8109", "9804", "17544", "15190", "90.9", "23.6",
        "14.6", "98 / 104", "6.08 / 7.08 / 8.08", "3.38 / 4.38 / 5.38", "0.9996 / 0.9971", "0.993", "0.941",
        "0.10", "2.31", "1.79x", "1.55x"})
    EXPECT_TRUE(has(md, number)) << number << " not in:\n" << md;
  EXPECT_TRUE(has(md, "| **PASS** |")) << md;
  EXPECT_TRUE(has(md, "| **FAIL** |")) << md;
  // The shared fp32 baseline is shown once, not once per quantization.
  EXPECT_EQ(md.find("| genre | fp32 |"), md.rfind("| genre | fp32 |")) << md;
  EXPECT_TRUE(has(md,
                  "- **FAIL** minilm-l6-genre, q4_aff_g64 on genre: accuracy_drop: accuracy dropped 2.31 "
                  "points, limit 1.00: fails by 1.31 points"))
      << md;
  EXPECT_TRUE(has(md, "- **warning** minilm-l6-genre, q4_aff_g64 on genre: size:")) << md;
  EXPECT_TRUE(has(md, "far below the target passes with a warning: a size target is a budget")) << md;
}

TEST(ReportHtml, ShowsTablesChartsAndFailedGatesInRed) {
  const std::string html = render_html({hand_built_doc()});
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(has(html, "<title>quantpipe report</title>"));
  for (const char* number :
       {"accuracy 0.8340", "17544", "23.6", "3.38 / 4.38 / 5.38", "0.9996 / 0.9971", "2.31", "1.79x"})
    EXPECT_TRUE(has(html, number)) << number;
  EXPECT_TRUE(has(html, "<td class=\"verdict fail\">FAIL</td>"));
  EXPECT_TRUE(has(html, "<td class=\"verdict pass\">PASS</td>"));
  EXPECT_TRUE(has(html, "<tr class=\"fail\">"));
  EXPECT_TRUE(has(html, "<li class=\"fail\"><b>FAIL</b>"));
  EXPECT_TRUE(has(html, "fails by 1.31 points"));
  EXPECT_TRUE(has(html, "<li class=\"warn\"><b>warning</b>"));
  EXPECT_TRUE(has(html, "a size target is a budget"));
  EXPECT_TRUE(has(html, "genre: accuracy vs model size"));
  EXPECT_TRUE(has(html, "genre: single-query latency"));
  EXPECT_TRUE(has(html, "genre: per-layer output error"));
  EXPECT_TRUE(has(html, "per-tensor weight error (conversion)"));
  EXPECT_TRUE(has(html, "encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(has(html, "<circle"));
  EXPECT_TRUE(has(html, "All gate results (3)"));
  EXPECT_TRUE(has(html, "<td class=\"verdict warn\">warning</td>"));
  // Self-contained: no scripts, nothing fetched from anywhere.
  EXPECT_FALSE(has(html, "<script"));
  EXPECT_FALSE(has(html, "http://"));
  EXPECT_FALSE(has(html, "https://"));
  EXPECT_FALSE(has(html, "src="));
}

TEST(Report, EscapesMarkupInNames) {
  json doc = hand_built_doc("<script>alert('x')</script>");
  doc["entries"][0]["dataset"] = "a&b|c";
  doc["entries"][1]["gates"][0]["detail"] = "<img onerror=x>";
  const std::string html = render_html({doc});
  EXPECT_FALSE(has(html, "<script"));
  EXPECT_FALSE(has(html, "<img"));
  EXPECT_TRUE(has(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_TRUE(has(html, "a&amp;b|c"));
  const std::string md = render_markdown({doc});
  EXPECT_FALSE(has(md, "<script"));
  EXPECT_FALSE(has(md, "<img"));
  EXPECT_TRUE(has(md, "a&b\\|c"));  // a pipe would split the table cell
}

// Issue 11: a model's note (the config's `note:`) is shown under its name, escaped.
TEST(Report, ShowsTheModelNote) {
  json doc = hand_built_doc();
  EXPECT_FALSE(has(render_markdown({doc}), "Note:"));
  EXPECT_FALSE(has(render_html({doc}), "class=\"note\""));
  doc["note"] = "deliberately weak: 0.37 accuracy <b>|</b>";
  const std::string md = render_markdown({doc}), html = render_html({doc});
  EXPECT_TRUE(has(md, "> **Note:** deliberately weak: 0.37 accuracy &lt;b&gt;\\|&lt;/b&gt;")) << md;
  EXPECT_TRUE(
      has(html, "<p class=\"note\"><strong>Note:</strong> deliberately weak: 0.37 accuracy &lt;b&gt;"))
      << html;
  EXPECT_LT(md.find("Note:"), md.find("| dataset")) << "under the model's name, above its table";
}

TEST(Report, ToleratesPartialAndMistypedDocuments) {
  json no_optional = hand_built_doc();
  for (json& e : no_optional["entries"]) {
    e.erase("conversion");
    e.erase("gates");
    e.erase("passed");
    e["comparison"]["fidelity"].erase("per_layer");
    e["comparison"]["fidelity"]["label_agreement"] = nullptr;
    e["comparison"]["quantized"].erase("latency_ms");
    e["comparison"]["quantized"]["memory"] = "lots";
    e["comparison"]["speedup"] = "fast";
  }
  const std::vector<json> docs = {json::object(),
                                  json::array(),
                                  42,
                                  {{"model", "only-a-name"}},
                                  {{"model", "bad-entries"}, {"entries", 5}},
                                  {{"model", "empty-entry"}, {"entries", {json::object(), 7, nullptr}}},
                                  {{"model", "no-comparison"}, {"entries", {{{"quantization", "q8"}}}}},
                                  no_optional};
  std::string md, html;
  ASSERT_NO_THROW(md = render_markdown(docs));
  ASSERT_NO_THROW(html = render_html(docs));
  EXPECT_TRUE(has(md, "## only-a-name"));
  EXPECT_TRUE(has(md, "(unnamed model)"));
  EXPECT_TRUE(has(md, "without gate results"));
  EXPECT_TRUE(has(md, "\u2013 / \u2013 / \u2013"));  // the missing latency
  EXPECT_TRUE(has(html, "bad-entries"));
  EXPECT_TRUE(has(html, "</html>"));
  for (const json& doc : docs) {
    EXPECT_NO_THROW(render_markdown({doc})) << doc.dump();
    EXPECT_NO_THROW(render_html({doc})) << doc.dump();
  }
}

TEST(Report, NoDocumentsSaysSo) {
  EXPECT_TRUE(has(render_markdown({}), "No comparison documents yet"));
  EXPECT_TRUE(has(render_html({}), "No comparison documents yet"));
  EXPECT_TRUE(has(render_markdown({}), "0 jobs across 0 models"));
}

TEST(Report, SampleFixturesRender) {
  const std::vector<json> docs = sample_docs();
  const std::string md = render_markdown(docs), html = render_html(docs);
  EXPECT_TRUE(has(md, "4 jobs across 2 models: 2 passed, 2 failed (1 warning)")) << md;
  EXPECT_TRUE(has(html, "stsb: spearman vs model size"));
  EXPECT_TRUE(has(html, "(log scale)"));  // q8 vs q4 per-tensor error spans decades
  for (const json& doc : docs)
    for (const json& entry : doc["entries"])
      for (const json& g : entry["gates"])
        if (!g["passed"].get<bool>() || g["warning"].get<bool>()) {
          EXPECT_TRUE(has(md, g["detail"].get<std::string>())) << g["detail"];
          EXPECT_TRUE(has(html, svg::escape(g["detail"].get<std::string>()))) << g["detail"];
        }
}

TEST(ReportSvg, BarChartChoosesLogScaleForWideRanges) {
  svg::BarChart chart;
  chart.title = "t <1>";
  chart.categories = {"a", "b"};
  chart.series = {"s"};
  chart.values = {{1e-6}, {1e-2}};
  const std::string wide = svg::bar_chart(chart);
  EXPECT_TRUE(has(wide, "(log scale)"));
  EXPECT_TRUE(has(wide, "1e-6"));
  EXPECT_TRUE(has(wide, "t &lt;1&gt;"));
  chart.values = {{2.0}, {9.0}};
  EXPECT_FALSE(has(svg::bar_chart(chart), "log scale"));
  chart.values = {{std::nullopt}, {0.0}};  // nothing positive: a linear axis, no crash
  EXPECT_TRUE(has(svg::bar_chart(chart), "</svg>"));
  EXPECT_EQ(svg::short_number(0.000012), "1.2e-05");
  EXPECT_EQ(svg::short_number(6.08), "6.08");
}

TEST(ReportFiles, WritesBothReportsAtomically) {
  test::TempDir workspace;
  fs::create_directories(workspace.path() / "comparisons");
  const std::vector<json> docs = sample_docs();
  // Written in reverse name order: the report still lists them by file name.
  std::ofstream(workspace.path() / "comparisons/b_comparison.json") << docs[1].dump();
  std::ofstream(workspace.path() / "comparisons/a_comparison.json") << docs[0].dump();
  std::ofstream(workspace.path() / "comparisons/notes.txt") << "not a comparison";
  std::ofstream(workspace.path() / "report.md") << "old report";

  const ReportFiles files = write_reports(workspace.path());
  EXPECT_EQ(files.documents, 2u);
  EXPECT_EQ(files.markdown, workspace.path() / "report.md");
  EXPECT_EQ(files.html, workspace.path() / "report.html");
  EXPECT_EQ(read_text(files.markdown), render_markdown(docs));
  EXPECT_EQ(read_text(files.html), render_html(docs));
  for (const fs::directory_entry& e : fs::directory_iterator(workspace.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(ReportFiles, NamesABrokenComparisonFileAndKeepsTheOldReport) {
  test::TempDir workspace;
  fs::create_directories(workspace.path() / "comparisons");
  std::ofstream(workspace.path() / "comparisons/a_comparison.json") << hand_built_doc().dump();
  std::ofstream(workspace.path() / "comparisons/b_comparison.json") << "{\"model\": \"x\", \"entries\": [";
  std::ofstream(workspace.path() / "report.md") << "old report";
  try {
    write_reports(workspace.path());
    FAIL() << "expected qp::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "b_comparison.json")) << e.what();
    EXPECT_TRUE(has(e.what(), "not valid JSON")) << e.what();
  }
  EXPECT_EQ(read_text(workspace.path() / "report.md"), "old report");
  EXPECT_FALSE(fs::exists(workspace.path() / "report.html"));

  std::ofstream(workspace.path() / "comparisons/b_comparison.json") << "[1, 2]";
  try {
    write_reports(workspace.path());
    FAIL() << "expected qp::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "b_comparison.json: not a comparison document")) << e.what();
  }
}

TEST(ReportFiles, EmptyWorkspaceGetsAReportSayingSo) {
  test::TempDir workspace;
  const ReportFiles files = write_reports(workspace.path());
  EXPECT_EQ(files.documents, 0u);
  EXPECT_TRUE(has(read_text(files.markdown), "No comparison documents yet"));
  EXPECT_TRUE(has(read_text(files.html), "No comparison documents yet"));
}

}  // namespace
}  // namespace qp::eval

namespace qp::eval {
namespace {

// A bits: auto variant: the plan's bits per tensor are drawn in HTML and
// listed in Markdown, with the count per width.
TEST(Report, DrawsTheBitsPerTensorOfAMixedPrecisionPlan) {
  json doc = hand_built_doc();
  json& entry = doc["entries"][0];
  entry["quantization"] = "mixed_15mb";
  entry["conversion"]["plan"]["mixed_precision"] = {
      {"units",
       {{{"name", "layer.0.qkv"},
         {"chosen", "q2_affine_g64"},
         {"options", {{{"scheme", "q2_affine_g64"}, {"bytes", 10}, {"error", 2.5e-5}}}}},
        {{"name", "bert.encoder.layer.0.output.dense"},
         {"chosen", "q8_affine_g64"},
         {"options", {{{"scheme", "q8_affine_g64"}, {"bytes", 40}, {"error", 1e-7}}}}},
        {{"name", "bert.embeddings.word_embeddings"},
         {"chosen", "keep"},
         {"options", {{{"scheme", "keep"}, {"bytes", 80}, {"error", 0}}}}},
        {{"name", "layer.1.qkv"}, {"chosen", "ternary_g64"}, {"options", json::array()}}}}};
  const std::string md = render_markdown({doc}), html = render_html({doc});
  EXPECT_TRUE(has(md, "Mixed-precision plan of mixed_15mb (1 × ternary, 1 × q2, 1 × q8, 1 × keep)")) << md;
  EXPECT_TRUE(has(md, "| layer.0.qkv | q2_affine_g64 | 2 | 0.00002500 |")) << md;
  EXPECT_TRUE(has(md, "| layer.1.qkv | ternary_g64 | 1.58 | – |")) << md;
  EXPECT_TRUE(has(html, "bits per tensor (mixed precision)")) << html;
  EXPECT_TRUE(has(html, "bert.encoder.layer.0.output.dense")) << html;
  // A plain variant has no plan section.
  EXPECT_FALSE(has(render_markdown({hand_built_doc()}), "Mixed-precision plan"));
  EXPECT_FALSE(has(render_html({hand_built_doc()}), "bits per tensor"));
}

}  // namespace
}  // namespace qp::eval
