// The classification report (accuracy with invalid predictions, per-class
// recall, macro-F1), latency percentiles, output fidelity and the JSON shape.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "eval/evaluate.h"
#include "eval/fidelity.h"
#include "eval/metrics.h"
#include "io_test_util.h"

namespace qp {
namespace {

TEST(EvalMetrics, ReportOnAHandCheckedExample) {
  //            0    1    2    3    4    5    6
  // gold:      a    a    a    b    b    c    c
  // predicted: A    a    b    b    —    a    d      (— = invalid; "A" matches "a")
  // a: gold 3, predicted 3 (0, 1, 5), correct 2 → P 2/3, R 2/3, F1 2/3
  // b: gold 2, predicted 2 (2, 3),    correct 1 → P 1/2, R 1/2, F1 1/2
  // c: gold 2, predicted 0                      → P 0,   R 0,   F1 0
  // d: gold 0, predicted 1 (6)                  → P 0,   R 0,   F1 0
  // accuracy 3/7; macro-F1 over a, b, c, d = (2/3 + 1/2 + 0 + 0) / 4 = 7/24.
  const ClassificationReport r =
      classification_report({"A", "a", "b", "b", "", "a", "d"}, {"a", "a", "a", "b", "b", "c", "c"});
  EXPECT_EQ(r.total, 7);
  EXPECT_EQ(r.correct, 3);
  EXPECT_EQ(r.invalid, 1);
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 7.0 / 24.0);
  ASSERT_EQ(r.classes.size(), 4u);
  EXPECT_EQ(r.classes[0].name, "a");
  EXPECT_DOUBLE_EQ(r.classes[0].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.classes[0].precision, 2.0 / 3.0);
  EXPECT_EQ(r.classes[1].name, "b");
  EXPECT_DOUBLE_EQ(r.classes[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.classes[1].f1, 0.5);
  EXPECT_EQ(r.classes[2].name, "c");
  EXPECT_EQ(r.classes[2].recall, 0.0);
  EXPECT_EQ(r.classes[3].name, "d");
  EXPECT_EQ(r.classes[3].gold, 0);
  EXPECT_EQ(r.classes[3].predicted, 1);
}

TEST(EvalMetrics, InvalidPredictionsCountAsWrong) {
  const ClassificationReport r = classification_report({"", "", "ENTAILMENT", "neutral"},
                                                       {"entailment", "neutral", "entailment", "neutral"});
  EXPECT_EQ(r.invalid, 2);
  EXPECT_EQ(r.correct, 2);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  // entailment: P 1/1, R 1/2 → F1 2/3; neutral the same.
  EXPECT_DOUBLE_EQ(r.macro_f1, 2.0 / 3.0);
  ASSERT_EQ(r.classes.size(), 2u);  // an invalid prediction is no class
}

TEST(EvalMetrics, EmptyOrMismatchedDataIsAnError) {
  test::expect_error([] { classification_report({}, {}); }, {"no examples"});
  test::expect_error([] { classification_report({"a"}, {"a", "b"}); }, {"1 predictions for 2 gold labels"});
  test::expect_error([] { classification_report({"a"}, {""}); }, {"example 1 has no gold label"});
}

TEST(EvalMetrics, LatencyPercentilesInterpolateLikeNumpy) {
  std::vector<double> ms;
  for (int i = 100; i >= 1; --i) ms.push_back(i);  // order must not matter
  const eval::LatencyMs latency = eval::summarize_latency(ms);
  // numpy.percentile(range(1, 101), [50, 95, 99]) = 50.5, 95.05, 99.01
  EXPECT_DOUBLE_EQ(latency.p50, 50.5);
  EXPECT_NEAR(latency.p95, 95.05, 1e-12);
  EXPECT_NEAR(latency.p99, 99.01, 1e-12);
  EXPECT_DOUBLE_EQ(latency.mean, 50.5);
  EXPECT_EQ(latency.queries, 100);
}

TEST(EvalFidelity, IdenticalOutputsAreFaithful) {
  eval::ModelOutputs a{{{1, 2, 3}, {-1, 0.5f, 2}}, {2, 0}};
  const eval::Fidelity f = eval::compare_outputs(a, a);
  EXPECT_NEAR(f.mean_cosine, 1.0, 1e-12);
  EXPECT_NEAR(f.min_cosine, 1.0, 1e-12);
  EXPECT_EQ(f.mse, 0.0);
  EXPECT_EQ(f.max_abs_diff, 0.0);
  EXPECT_EQ(f.nan_inf, 0);
  ASSERT_TRUE(f.label_agreement);
  EXPECT_EQ(*f.label_agreement, 1.0);
}

TEST(EvalFidelity, DifferencesAndNonFiniteValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  eval::ModelOutputs base{{{1, 0}, {0, 2}, {3, 4}}, {0, 1, 1}};
  eval::ModelOutputs quant{{{0, 1}, {0, 1}, {nan, 4}}, {1, 1, -1}};
  const eval::Fidelity f = eval::compare_outputs(base, quant);
  // cosines 0, 1 and 0 (non-finite); MSE over the 4 finite pairs: (1 + 1 + 0 + 1) / 4.
  EXPECT_NEAR(f.mean_cosine, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(f.min_cosine, 0.0);
  EXPECT_DOUBLE_EQ(f.mse, 0.75);
  EXPECT_DOUBLE_EQ(f.max_abs_diff, 1.0);
  EXPECT_EQ(f.nan_inf, 1);
  EXPECT_DOUBLE_EQ(*f.label_agreement, 1.0 / 3.0);
  // Embeddings (no labels): no agreement.
  EXPECT_FALSE(eval::compare_outputs({{{1}}, {-1}}, {{{1}}, {-1}}).label_agreement);
  test::expect_error([&] { eval::compare_outputs(base, {{{1, 0}}, {0}}); }, {"3 baseline outputs but 1"});
}

TEST(EvalJson, ComparisonHasTheDocumentedShape) {
  eval::Comparison c;
  c.baseline.format = "fp32";
  c.baseline.metrics = {{"accuracy", 0.8}, {"recall/a", 0.5}};
  c.baseline.label_names = {"a", "b"};
  c.baseline.predicted_counts = {3, 1};
  c.baseline.gold_counts = {2, 2};
  c.quantized.task = eval::EvalTask::ZeroShot;
  c.fidelity.per_layer = {{"layer.0.out", 0.99, 0.01}};
  c.accuracy_drop_points = 1.5;
  const nlohmann::json j = eval::to_json(c);
  for (const char* key : {"baseline", "quantized", "fidelity", "accuracy_drop_points", "speedup"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"model_path", "format", "dataset", "task", "rows", "tokens", "metrics",
                          "primary_metric", "primary", "seconds", "queries_per_minute", "tokens_per_second",
                          "model_size_mb", "memory", "latency_ms", "predicted_counts", "gold_counts"})
    EXPECT_TRUE(j["baseline"].contains(key)) << key;
  EXPECT_EQ(j["baseline"]["metrics"]["recall/a"], 0.5);
  EXPECT_EQ(j["baseline"]["predicted_counts"]["a"], 3);
  EXPECT_EQ(j["baseline"]["gold_counts"]["b"], 2);
  EXPECT_EQ(j["quantized"]["task"], "zero-shot");
  EXPECT_TRUE(j["quantized"]["gold_counts"].is_object());
  for (const char* key : {"rss_avg_mb", "rss_peak_mb", "samples"})
    EXPECT_TRUE(j["baseline"]["memory"].contains(key));
  for (const char* key : {"p50", "p95", "p99", "mean", "queries"})
    EXPECT_TRUE(j["baseline"]["latency_ms"].contains(key));
  EXPECT_TRUE(j["fidelity"]["label_agreement"].is_null());
  EXPECT_EQ(j["fidelity"]["per_layer"][0]["name"], "layer.0.out");
  EXPECT_EQ(j["fidelity"]["per_layer"][0]["relative_mse"], 0.01);
  EXPECT_EQ(j["accuracy_drop_points"], 1.5);
}

}  // namespace
}  // namespace qp
