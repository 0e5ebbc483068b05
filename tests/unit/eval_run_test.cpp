// The evaluator on tiny generated models: throughput and latency
// bookkeeping, model size on disk, the memory sampler, zero-shot against an
// independent computation through Model::classify, and fidelity of a model
// with itself (layer by layer too).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "eval/evaluate.h"
#include "eval/memory_sampler.h"
#include "eval/stats.h"
#include "eval/zero_shot.h"
#include "io_test_util.h"
#include "models/tiny_model.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

// Two tiny models made once: a 3-label classifier whose labels read as an
// NLI model's, and a sentence-transformers embedder.
class EvalRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    write_tiny_bert(classifier_dir(), {.num_labels = 3, .seed = 7});
    const fs::path config_path = classifier_dir() / "config.json";
    nlohmann::json config = nlohmann::json::parse(test::read_bytes(config_path));
    config["id2label"] = {{"0", "CONTRADICTION"}, {"1", "NEUTRAL"}, {"2", "ENTAILMENT"}};
    config["label2id"] = {{"CONTRADICTION", 0}, {"NEUTRAL", 1}, {"ENTAILMENT", 2}};
    test::write_bytes(config_path, config.dump(2));
    write_tiny_bert(embedder_dir(), {.sentence_transformer = true, .seed = 8});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path classifier_dir() { return dir_->path() / "cls"; }
  static fs::path embedder_dir() { return dir_->path() / "st"; }

  static std::vector<LabelledExample> examples(int n) {
    const char* texts[] = {"the cat sat on the mat", "a man is playing music", "it was a good day",
                           "the house is big", "she likes to read"};
    std::vector<LabelledExample> rows;
    for (int i = 0; i < n; ++i) {
      LabelledExample e;
      e.input.text = texts[i % 5];
      e.input.text_pair = texts[(i + 2) % 5];
      e.label = i % 2 ? "entailment" : "neutral";
      e.score = i % 5;
      e.has_score = true;
      rows.push_back(e);
    }
    return rows;
  }

  static test::TempDir* dir_;
};
test::TempDir* EvalRun::dir_ = nullptr;

TEST_F(EvalRun, ThroughputAndLatencyBookkeeping) {
  const Model model = Model::load(classifier_dir(), {1});
  const auto rows = examples(12);
  eval::EvalOptions options;
  options.batch_size = 4;
  options.latency_queries = 5;
  const eval::RunResult r =
      eval::run_model(model, rows, {.task = eval::EvalTask::Classification, .dataset = "tiny"}, options);
  EXPECT_EQ(r.rows, 12);
  EXPECT_EQ(r.dataset, "tiny");
  EXPECT_EQ(r.format, "fp32");
  ASSERT_GT(r.seconds, 0);
  EXPECT_EQ(r.queries_per_minute, static_cast<double>(r.rows) / r.seconds * 60.0);
  EXPECT_EQ(r.tokens_per_second, static_cast<double>(r.tokens) / r.seconds);
  int64_t tokens = 0;
  std::vector<TextInput> inputs;
  for (const auto& e : rows) inputs.push_back(e.input);
  for (const Encoding& e : model.tokenize(inputs)) tokens += static_cast<int64_t>(e.input_ids.size());
  EXPECT_EQ(r.tokens, tokens);
  EXPECT_EQ(r.latency.queries, 5);
  EXPECT_GT(r.latency.p50, 0);
  EXPECT_LE(r.latency.p50, r.latency.p95);
  EXPECT_LE(r.latency.p95, r.latency.p99);
  EXPECT_GE(r.memory.samples, 2);
  EXPECT_GT(r.memory.rss_peak, 0);
  EXPECT_LE(r.memory.rss_avg, r.memory.rss_peak);
  EXPECT_EQ(r.primary_metric, "accuracy");
  EXPECT_EQ(r.primary, r.metrics.at("accuracy"));
  EXPECT_TRUE(r.metrics.count("macro_f1"));
  EXPECT_TRUE(r.metrics.count("recall/entailment"));
  ASSERT_EQ(r.label_names.size(), 3u);  // the gold labels match the model's, case-insensitively
  int64_t predicted = 0;
  for (int64_t n : r.predicted_counts) predicted += n;
  EXPECT_EQ(predicted, 12);
  EXPECT_EQ(r.gold_counts, (std::vector<int64_t>{0, 6, 6}));
  EXPECT_EQ(r.outputs.vectors.size(), 12u);
}

TEST_F(EvalRun, SimilarityAndUnlabelled) {
  const Model model = Model::load(embedder_dir(), {1});
  const auto rows = examples(10);
  eval::EvalOptions options;
  options.latency_queries = 2;
  const eval::RunResult sim = eval::run_model(model, rows, {.task = eval::EvalTask::Similarity}, options);
  EXPECT_EQ(sim.primary_metric, "spearman");
  EXPECT_TRUE(sim.metrics.count("pearson"));
  EXPECT_TRUE(std::isfinite(sim.primary));
  ASSERT_EQ(sim.outputs.vectors.size(), 10u);
  EXPECT_EQ(sim.outputs.vectors[0].size(), 2u * 32u);  // both texts' embeddings
  const eval::RunResult none = eval::run_model(model, rows, {.task = eval::EvalTask::Unlabelled}, options);
  EXPECT_EQ(none.primary_metric, "");
  EXPECT_EQ(none.primary, 0.0);
  EXPECT_TRUE(none.metrics.empty());
  test::expect_error([&] { eval::run_model(model, {}, {.task = eval::EvalTask::Unlabelled}, options); },
                     {"the dataset has no rows"});
  test::expect_error([&] { eval::run_model(model, rows, {.task = eval::EvalTask::Classification}, options); },
                     {"has no classification head"});
}

TEST_F(EvalRun, ModelSizeCountsWeightFilesOnly) {
  const test::TempDir dir;
  const fs::path d = dir.path();
  fs::create_directories(d / "fp16");
  fs::create_directories(d / "2_Dense");
  test::write_bytes(d / "model.safetensors", std::string(1000, 'x'));
  test::write_bytes(d / "fp16" / "model.safetensors", std::string(500, 'x'));
  test::write_bytes(d / "2_Dense" / "pytorch_model.bin", std::string(200, 'x'));
  test::write_bytes(d / "tokenizer.json", std::string(300, 'x'));
  EXPECT_EQ(eval::model_weight_bytes(d), 1200);
  const Model model = Model::load(classifier_dir(), {1});
  const eval::RunResult r = eval::run_model(model, examples(2), {}, {.latency_queries = 0});
  EXPECT_EQ(r.model_size_mb,
            static_cast<double>(fs::file_size(classifier_dir() / "model.safetensors")) / 1e6);
  EXPECT_EQ(r.latency.queries, 0);
}

TEST(EvalMemory, SamplerSeesAnAllocationDuringTheRun) {
  const double before_mb = static_cast<double>(current_rss_bytes()) / 1e6;
  eval::MemorySampler sampler(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  constexpr size_t kBytes = size_t{300} << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  block.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const eval::MemoryMb memory = sampler.stop();
  EXPECT_GE(memory.samples, 10);
  EXPECT_GE(memory.rss_peak, before_mb + 250) << "before " << before_mb;
  EXPECT_LT(memory.rss_avg, memory.rss_peak);  // the samples before and after the block are lower
  EXPECT_GT(memory.rss_avg, before_mb * 0.5);
  EXPECT_EQ(sampler.stop().samples, memory.samples);  // stopped once
}

TEST_F(EvalRun, ZeroShotMatchesAnIndependentComputation) {
  const Model model = Model::load(classifier_dir(), {1});
  EXPECT_EQ(eval::entailment_index(model), 2);
  const std::vector<std::string> texts = {"the cat sat on the mat", "a man is playing music",
                                          "it was a good day"};
  const std::vector<std::string> labels = {"animals", "music", "weather", "sports"};
  const eval::ZeroShotResult z =
      eval::zero_shot_classify(model, texts, labels, "this is about {}.", {.batch_size = 5});
  ASSERT_EQ(z.scores.size(), texts.size());
  for (size_t t = 0; t < texts.size(); ++t) {
    // One pair at a time through Model::classify, softmax by hand.
    std::vector<double> logits;
    for (const std::string& label : labels)
      logits.push_back(
          model.classify(std::vector<TextInput>{TextInput{texts[t], "this is about " + label + "."}})[0]
              .logits[2]);
    double sum = 0;
    for (double v : logits) sum += std::exp(v);
    size_t best = 0;
    for (size_t c = 0; c < labels.size(); ++c) {
      EXPECT_NEAR(z.entailment_logits[t][c], logits[c], 1e-5);
      EXPECT_NEAR(z.scores[t][c], std::exp(logits[c]) / sum, 1e-5);
      if (logits[c] > logits[best]) best = c;
    }
    EXPECT_EQ(z.predicted[t], static_cast<int>(best));
  }
  // Through the evaluator: predictions are candidate labels.
  std::vector<LabelledExample> rows;
  for (const auto& text : texts) rows.push_back({{text, std::nullopt}, "music"});
  const eval::RunResult r = eval::run_model(model, rows,
                                            {.task = eval::EvalTask::ZeroShot,
                                             .candidate_labels = labels,
                                             .hypothesis_template = "this is about {}."},
                                            {.latency_queries = 1});
  EXPECT_EQ(r.label_names, labels);
  EXPECT_EQ(r.gold_counts, (std::vector<int64_t>{0, 3, 0, 0}));
  double correct = 0;
  for (int p : z.predicted) correct += p == 1;
  EXPECT_DOUBLE_EQ(r.primary, correct / 3.0);
  for (size_t t = 0; t < texts.size(); ++t) EXPECT_EQ(r.outputs.predicted[t], z.predicted[t]);
}

TEST_F(EvalRun, ZeroShotNeedsAnEntailmentLabel) {
  const test::TempDir dir;
  write_tiny_bert(dir.path() / "m", {.num_labels = 2});
  const Model model = Model::load(dir.path() / "m", {1});
  test::expect_error([&] { eval::entailment_index(model); },
                     {"needs an NLI model with an 'entailment' label", "labels are LABEL_0, LABEL_1"});
  EXPECT_EQ(eval::fill_hypothesis("It is {}.", "red"), "It is red.");
}

TEST_F(EvalRun, ModelAgainstItselfIsFaithful) {
  Model a = Model::load(classifier_dir(), {1});
  Model b = Model::load(classifier_dir(), {1});
  const auto rows = examples(6);
  const eval::EvalSpec spec{.task = eval::EvalTask::Classification, .dataset = "tiny"};
  const eval::EvalOptions options{.batch_size = 4, .latency_queries = 2, .per_layer_examples = 3};
  eval::RunResult ra = eval::run_model(a, rows, spec, options);
  eval::RunResult rb = eval::run_model(b, rows, spec, options);
  const eval::Comparison c = eval::compare_runs(std::move(ra), std::move(rb), a, b, rows, spec, options);
  EXPECT_NEAR(c.fidelity.mean_cosine, 1.0, 1e-9);
  EXPECT_NEAR(c.fidelity.min_cosine, 1.0, 1e-9);
  EXPECT_EQ(c.fidelity.mse, 0.0);
  EXPECT_EQ(c.fidelity.max_abs_diff, 0.0);
  EXPECT_EQ(c.fidelity.nan_inf, 0);
  ASSERT_TRUE(c.fidelity.label_agreement);
  EXPECT_EQ(*c.fidelity.label_agreement, 1.0);
  EXPECT_EQ(c.accuracy_drop_points, 0.0);
  EXPECT_GT(c.speedup, 0.0);
  ASSERT_GE(c.fidelity.per_layer.size(), 4u);  // embeddings, per-layer outputs, head
  for (const eval::LayerFidelity& layer : c.fidelity.per_layer) {
    EXPECT_NEAR(layer.cosine, 1.0, 1e-9) << layer.name;
    EXPECT_EQ(layer.relative_mse, 0.0) << layer.name;
  }
  EXPECT_EQ(c.baseline.rows, 6);
  EXPECT_EQ(c.quantized.rows, 6);
}

// The speedup comes from alternating timed passes over the same rows.
TEST_F(EvalRun, SpeedupIsMeasuredInAlternationOnTheSameRows) {
  Model a = Model::load(classifier_dir(), {1});
  Model b = Model::load(classifier_dir(), {1});
  const auto rows = examples(6);
  const eval::EvalSpec spec{.task = eval::EvalTask::Classification, .dataset = "tiny"};
  eval::EvalOptions options{.batch_size = 4, .latency_queries = 1, .per_layer_examples = 0};
  options.speed_rounds = 3;
  options.speed_rows = 4;
  const eval::Comparison c =
      eval::compare_runs(eval::run_model(a, rows, spec, options), eval::run_model(b, rows, spec, options), a,
                         b, rows, spec, options);
  ASSERT_TRUE(c.speed_check.has_value());
  EXPECT_EQ(c.speed_check->rounds, 3);
  EXPECT_EQ(c.speed_check->rows, 4);
  EXPECT_GT(c.speed_check->baseline_seconds, 0.0);
  EXPECT_GT(c.speed_check->quantized_seconds, 0.0);
  EXPECT_DOUBLE_EQ(c.speedup, c.speed_check->baseline_seconds / c.speed_check->quantized_seconds);
  const nlohmann::json j = eval::to_json(c);
  EXPECT_EQ(j["speed_check"]["method"], "interleaved");
  EXPECT_DOUBLE_EQ(j["speedup"].get<double>(), c.speedup);
  // Without rounds the speedup is the ratio of the two runs' queries per minute.
  options.speed_rounds = 0;
  const eval::Comparison plain =
      eval::compare_runs(eval::run_model(a, rows, spec, options), eval::run_model(b, rows, spec, options), a,
                         b, rows, spec, options);
  EXPECT_FALSE(plain.speed_check.has_value());
  EXPECT_DOUBLE_EQ(plain.speedup, plain.quantized.queries_per_minute / plain.baseline.queries_per_minute);
}

}  // namespace
}  // namespace qp

namespace qp {
namespace {

// Pre-tokenized rows (issue 14) are what the tokenizer would have made of the
// text: the same rows as ids score, agree and compare layer by layer exactly
// as the text rows do.
TEST_F(EvalRun, PretokenizedRowsRunAsTheirText) {
  Model model = Model::load(classifier_dir(), {1});
  const std::vector<LabelledExample> text_rows = examples(4);
  std::vector<TextInput> inputs;
  for (const LabelledExample& e : text_rows) inputs.push_back(e.input);
  const std::vector<Encoding> encodings = model.tokenize(inputs);
  std::vector<LabelledExample> id_rows = text_rows;
  for (size_t i = 0; i < id_rows.size(); ++i) {
    id_rows[i].input = {};
    id_rows[i].ids = encodings[i];
  }
  id_rows[1] = text_rows[1];  // a text row among them is tokenized as before
  const eval::EvalSpec spec{.task = eval::EvalTask::Classification, .dataset = "tiny"};
  const eval::EvalOptions options{
      .batch_size = 4, .latency_queries = 1, .per_layer_examples = 3, .speed_rounds = 0};
  eval::RunResult from_text = eval::run_model(model, text_rows, spec, options);
  eval::RunResult from_ids = eval::run_model(model, id_rows, spec, options);
  EXPECT_EQ(from_ids.outputs.vectors, from_text.outputs.vectors);
  EXPECT_EQ(from_ids.outputs.predicted, from_text.outputs.predicted);
  EXPECT_EQ(from_ids.tokens, from_text.tokens);
  EXPECT_EQ(from_ids.metrics, from_text.metrics);
  Model other = Model::load(classifier_dir(), {1});
  const eval::Comparison c =
      eval::compare_runs(std::move(from_text), std::move(from_ids), model, other, id_rows, spec, options);
  EXPECT_EQ(c.fidelity.max_abs_diff, 0.0);
  ASSERT_GE(c.fidelity.per_layer.size(), 4u);
  for (const eval::LayerFidelity& layer : c.fidelity.per_layer)
    EXPECT_EQ(layer.relative_mse, 0.0) << layer.name;
}

TEST_F(EvalRun, PretokenizedRowsAreRefusedWhereTheyCannotRun) {
  Model model = Model::load(classifier_dir(), {1});
  std::vector<LabelledExample> rows = examples(2);
  rows[1].ids = Encoding{{2, 10, 11, 3}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  const eval::EvalOptions options{.latency_queries = 0};
  test::expect_error(
      [&] { eval::run_model(model, rows, {.task = eval::EvalTask::Similarity, .dataset = "d"}, options); },
      {"dataset 'd' row 2", "pre-tokenized", "not similarity"});
  test::expect_error(
      [&] {
        eval::run_model(model, rows, {.task = eval::EvalTask::Classification, .dataset = "d"},
                        {.max_length = 3, .latency_queries = 0});
      },
      {"dataset 'd' row 2", "4 pre-tokenized ids, more than max_length 3"});
}

}  // namespace
}  // namespace qp
