// quantpipe eval end to end: a tiny generated model converted with
// `quantpipe convert` (runs everywhere), the shared genre model at 8 bits on
// its dev set through the shipped configs (when ../shared is present), and
// the one-line errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;

// The six metrics of a run, each present and meaningful.
void expect_six_metrics(const nlohmann::json& run, const std::string& role) {
  SCOPED_TRACE(role);
  ASSERT_TRUE(run.is_object());
  EXPECT_FALSE(run["primary_metric"].get<std::string>().empty());
  EXPECT_GE(run["primary"].get<double>(), 0.0);
  EXPECT_GT(run["queries_per_minute"].get<double>(), 0.0);
  EXPECT_GT(run["model_size_mb"].get<double>(), 0.0);
  EXPECT_GT(run["tokens_per_second"].get<double>(), 0.0);
  EXPECT_GT(run["memory"]["rss_avg_mb"].get<double>(), 0.0);
  EXPECT_GE(run["memory"]["rss_peak_mb"].get<double>(), run["memory"]["rss_avg_mb"].get<double>());
  EXPECT_GT(run["latency_ms"]["p50"].get<double>(), 0.0);
  EXPECT_GE(run["latency_ms"]["p99"].get<double>(), run["latency_ms"]["p50"].get<double>());
  const double qpm = run["rows"].get<double>() / run["seconds"].get<double>() * 60.0;
  EXPECT_NEAR(run["queries_per_minute"].get<double>(), qpm, 1e-6 * qpm);
}

class EvalCliTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(dir_.path() / "fp32", {.num_labels = 3, .seed = 11});
    const CliResult convert = run_cli({"convert", "--model", (dir_.path() / "fp32").string(), "--out",
                                       q8().string(), "--bits", "8", "--scheme", "sym", "--per-channel"});
    ASSERT_EQ(convert.exit_code, 0) << convert;
    std::string rows;
    const char* texts[] = {"the cat sat", "a man is here", "it was good", "the house is big", "she can read"};
    for (int i = 0; i < 20; ++i)
      rows +=
          nlohmann::json{{"text", texts[i % 5]}, {"label", "label_" + std::to_string(i % 3)}}.dump() + "\n";
    write_bytes(data(), rows);
  }
  fs::path q8() const { return dir_.path() / "q8"; }
  fs::path data() const { return dir_.path() / "data.jsonl"; }
  TempDir dir_;
};

TEST_F(EvalCliTiny, JsonComparisonAgainstTheRecordedBaseline) {
  // Tiny models are all overhead, so no speed gate here (FailedGateExitsTwo covers it).
  const CliResult r = run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--json",
                               "--latency-queries", "4", "--threads", "1", "--min-speedup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["passed"].get<bool>()) << j["gates"].dump(2);
  ASSERT_EQ(j["gates"].size(), 2u) << j["gates"].dump(
      2);  // speedup and collapse: no drop or size limit given
  EXPECT_EQ(j["gates"][0]["name"], "speedup");
  EXPECT_EQ(j["gates"][1]["name"], "collapse");
  expect_six_metrics(j["baseline"], "baseline");
  expect_six_metrics(j["quantized"], "quantized");
  EXPECT_EQ(j["baseline"]["format"], "fp32");
  EXPECT_EQ(j["quantized"]["format"], "q8_sym_ch");
  EXPECT_EQ(j["baseline"]["model_path"], (dir_.path() / "fp32").string());
  EXPECT_EQ(j["quantized"]["rows"], 20);
  EXPECT_EQ(j["quantized"]["task"], "classification");
  EXPECT_EQ(j["quantized"]["latency_ms"]["queries"], 4);
  EXPECT_EQ(j["baseline"]["gold_counts"]["LABEL_0"], 7);  // label_0 matched case-insensitively
  EXPECT_GT(j["fidelity"]["mean_cosine"].get<double>(), 0.99);
  EXPECT_EQ(j["fidelity"]["nan_inf"], 0);
  EXPECT_GT(j["fidelity"]["label_agreement"].get<double>(), 0.5);
  EXPECT_FALSE(j["fidelity"]["per_layer"].empty());
  const double drop =
      (j["baseline"]["primary"].get<double>() - j["quantized"]["primary"].get<double>()) * 100;
  EXPECT_NEAR(j["accuracy_drop_points"].get<double>(), drop, 1e-9);
  EXPECT_LT(j["quantized"]["model_size_mb"].get<double>(), j["baseline"]["model_size_mb"].get<double>());
  EXPECT_TRUE(contains(r.err, "evaluating")) << r.err;  // progress goes to stderr
}

TEST_F(EvalCliTiny, FailedGateExitsTwoAndSaysWhich) {
  const CliResult r = run_cli({"eval", "--model", q8().string(), "--dataset", data().string(),
                               "--latency-queries", "2", "--threads", "1", "--min-speedup", "1000"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_TRUE(contains(r.out, "FAIL  speedup: speedup ")) << r.out;
  EXPECT_TRUE(contains(r.out, "needs at least 1000.00x")) << r.out;
  const CliResult report_only =
      run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--latency-queries", "2",
               "--threads", "1", "--min-speedup", "1000", "--no-gates"});
  EXPECT_EQ(report_only.exit_code, 0) << report_only;
  EXPECT_FALSE(contains(report_only.out, "Quality gates")) << report_only.out;
}

// Issue 10: --max-accuracy-drop is a fraction of the metric's scale, as in the
// configs (0.015 = 1.5 points); a value above 1 is points by mistake and refused.
TEST_F(EvalCliTiny, MaxAccuracyDropIsAFraction) {
  const CliResult points =
      run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--max-accuracy-drop", "1.5"});
  EXPECT_NE(points.exit_code, 0) << points;
  EXPECT_TRUE(contains(points.err,
                       "--max-accuracy-drop: max_accuracy_drop is a fraction of the metric's scale "
                       "(0.015 means 1.5%"))
      << points;
  EXPECT_TRUE(contains(points.err, "for 1.5 points write 0.015")) << points;
  const CliResult r = run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--json",
                               "--limit", "6", "--latency-queries", "1", "--threads", "1", "--min-speedup",
                               "0", "--max-accuracy-drop", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json gate = nlohmann::json::parse(r.out)["gates"][0];
  EXPECT_EQ(gate["name"], "accuracy_drop");
  EXPECT_EQ(gate["threshold"], 50.0);  // points, like the drop it is compared with
  EXPECT_TRUE(contains(gate["detail"].get<std::string>(), "limit 50.00 points (max_accuracy_drop 0.5)"))
      << gate.dump();
}

TEST_F(EvalCliTiny, MarkdownTableAndSingleModel) {
  const CliResult r = run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--limit", "6",
                               "--latency-queries", "2", "--threads", "1", "--min-speedup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const char* part :
       {"| metric | baseline (fp32) | quantized (q8_sym_ch) |", "| accuracy |", "| queries/min |",
        "| size MB |", "| tokens/s |", "| model RSS avg / peak MB |", "| latency p50 / p95 / p99 ms |",
        "Fidelity: mean cosine", "accuracy drop:", "speedup:"})
    EXPECT_TRUE(contains(r.out, part)) << part << " not in:\n" << r.out;
  // A Hugging Face directory alone: one run, unlabelled.
  const CliResult alone =
      run_cli({"eval", "--model", (dir_.path() / "fp32").string(), "--dataset", data().string(), "--task",
               "unlabelled", "--json", "--latency-queries", "1"});
  ASSERT_EQ(alone.exit_code, 0) << alone;
  const nlohmann::json j = nlohmann::json::parse(alone.out);
  EXPECT_EQ(j["task"], "unlabelled");
  EXPECT_EQ(j["primary_metric"], "");
  EXPECT_TRUE(j["gold_counts"].empty());
}

TEST_F(EvalCliTiny, ErrorsAreOneLine) {
  expect_clean_failure(run_cli({"eval", "--model", q8().string(), "--dataset", "no-such.jsonl", "--config",
                                (dir_.path() / "none*.yaml").string()}),
                       {"--dataset no-such.jsonl is not a file", "no config files match"});
  write_bytes(dir_.path() / "bad.jsonl", "{\"text\": \"a\"}\n");
  expect_clean_failure(
      run_cli({"eval", "--model", q8().string(), "--dataset", (dir_.path() / "bad.jsonl").string()}),
      {"bad.jsonl:1: missing field 'label'"});
  expect_clean_failure(
      run_cli({"eval", "--model", q8().string(), "--dataset", data().string(), "--task", "nope"}),
      {"--task nope: expected classification, similarity, zero-shot or unlabelled"});
  const CliResult help = run_cli({"eval", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  for (const char* option : {"--model", "--dataset", "--baseline", "--config", "--task", "--limit",
                             "--latency-queries", "--json", "--text-column"})
    EXPECT_TRUE(contains(help.out, option)) << option;
}

TEST(EvalCliTasks, ZeroShotFromAConfigDataset) {
  const TempDir dir;
  const fs::path fp32 = dir.path() / "nli", q8 = dir.path() / "nli-q8";
  write_tiny_bert(fp32, {.num_labels = 3, .seed = 5});
  nlohmann::json config = nlohmann::json::parse(read_bytes(fp32 / "config.json"));
  config["id2label"] = {{"0", "entailment"}, {"1", "neutral"}, {"2", "contradiction"}};
  write_bytes(fp32 / "config.json", config.dump());
  ASSERT_EQ(run_cli({"convert", "--model", fp32.string(), "--out", q8.string(), "--bits", "8"}).exit_code, 0);
  write_bytes(dir.path() / "topics.jsonl",
              "{\"text\": \"the cat sat\", \"label\": \"animals\"}\n"
              "{\"text\": \"she can sing\", \"label\": \"music\"}\n"
              "{\"text\": \"a dog ran\", \"label\": \"animals\"}\n");
  write_bytes(dir.path() / "c.yaml", R"(datasets:
  - name: topics
    provider: local
    path: topics.jsonl
    metrics: [accuracy]
    candidate_labels: [animals, music]
    hypothesis_template: "this is about {}."
)");
  const CliResult r =
      run_cli({"eval", "--model", q8.string(), "--dataset", "topics", "--config",
               (dir.path() / "c.yaml").string(), "--json", "--latency-queries", "2", "--min-speedup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["baseline"]["task"], "zero-shot");
  EXPECT_EQ(j["baseline"]["dataset"], "topics");
  EXPECT_EQ(j["baseline"]["gold_counts"], (nlohmann::json{{"animals", 2}, {"music", 1}}));
  EXPECT_EQ(j["quantized"]["predicted_counts"]["animals"].get<int>() +
                j["quantized"]["predicted_counts"]["music"].get<int>(),
            3);
  expect_six_metrics(j["quantized"], "quantized");
}

TEST(EvalCliTasks, SimilarityInferredForAnEmbeddingModel) {
  const TempDir dir;
  write_tiny_bert(dir.path() / "st", {.sentence_transformer = true, .seed = 6});
  write_bytes(dir.path() / "sts.tsv",
              "sentence1\tsentence2\tscore\nthe cat sat\ta cat sat\t4.5\nthe dog ran\tshe can read\t0.5\n"
              "a man is here\ta man is there\t3.0\n");
  const CliResult r =
      run_cli({"eval", "--model", (dir.path() / "st").string(), "--dataset",
               (dir.path() / "sts.tsv").string(), "--text-column", "sentence1", "--pair-column", "sentence2",
               "--label-column", "score", "--json", "--latency-queries", "2", "--min-speedup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "similarity");
  EXPECT_EQ(j["primary_metric"], "spearman");
  EXPECT_TRUE(j["metrics"].contains("pearson"));
  EXPECT_TRUE(j["gold_counts"].empty());
}

TEST(EvalCliShared, GenreQ8OnItsDevSet) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  QP_REQUIRE_SHARED("data/genre/dev_a.jsonl");
  const TempDir dir;
  const fs::path q8 = dir.path() / "genre-q8";
  const CliResult convert =
      run_cli({"convert", "--model", (shared_dir() / "models/minilm-l6-genre").string(), "--out", q8.string(),
               "--bits", "8", "--scheme", "sym", "--per-channel"});
  ASSERT_EQ(convert.exit_code, 0) << convert;
  const CliResult r = run_cli({"eval", "--model", q8.string(), "--dataset", "genre", "--config",
                               (source_dir() / "configs/*.yaml").string(), "--limit", "200", "--json",
                               "--max-accuracy-drop", "0.03", "--min-speedup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  expect_six_metrics(j["baseline"], "baseline");
  expect_six_metrics(j["quantized"], "quantized");
  EXPECT_EQ(j["baseline"]["rows"], 200);
  EXPECT_EQ(j["baseline"]["primary_metric"], "accuracy");
  EXPECT_GT(j["baseline"]["primary"].get<double>(), 0.7);  // 0.8343 on all 2565 rows
  EXPECT_LT(std::abs(j["accuracy_drop_points"].get<double>()), 3.0);
  EXPECT_GT(j["fidelity"]["label_agreement"].get<double>(), 0.95);
  EXPECT_GT(j["fidelity"]["mean_cosine"].get<double>(), 0.99);
  EXPECT_LT(j["quantized"]["model_size_mb"].get<double>(),
            0.5 * j["baseline"]["model_size_mb"].get<double>());
  EXPECT_GT(j["speedup"].get<double>(), 0.0);
  EXPECT_GE(j["fidelity"]["per_layer"].size(), 6u);
  ASSERT_FALSE(j["gates"].empty());
  EXPECT_EQ(j["gates"][0]["name"], "accuracy_drop");
  EXPECT_TRUE(j["passed"].get<bool>()) << j["gates"].dump(2);
}

}  // namespace
}  // namespace qp::test
