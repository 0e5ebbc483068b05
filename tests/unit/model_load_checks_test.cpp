// What Model::load refuses and how classification reads its head (issue 10,
// items 3, 5, 6, 9): a converted model with hidden_size 0 (once SIGFPE), a
// multi-label head (sigmoid scores), non-finite logits (no label), and errors
// at run time that name the model.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/tiny_model.h"
#include "io_test_util.h"
#include "quant/convert.h"
#include "quant/scheme.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;

void set_config_key(const fs::path& dir, const std::string& key, const nlohmann::json& value) {
  nlohmann::json config;
  {
    std::ifstream in(dir / "config.json");
    config = nlohmann::json::parse(in);
  }
  config[key] = value;
  std::ofstream(dir / "config.json") << config.dump(2);
}

fs::path tiny_classifier(const fs::path& dir, int labels) {
  TinyBertSpec spec;
  spec.hidden = 64;
  spec.intermediate = 128;
  spec.num_labels = labels;
  write_tiny_bert(dir, spec);
  return dir;
}

TEST(ModelLoadChecks, ConvertedModelWithZeroHiddenSizeIsRefusedNotDividedBy) {
  TempDir tmp;
  const fs::path source = tiny_classifier(tmp.path() / "src", 2);
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme("q4_affine_g32");
  quant::convert_model(source, tmp.path() / "q4", options);
  for (const char* key : {"hidden_size", "intermediate_size", "num_attention_heads", "vocab_size"}) {
    set_config_key(tmp.path() / "q4", key, 0);
    expect_error([&] { Model::load(tmp.path() / "q4", {.threads = 1}); }, {"config.json", key, "is 0"});
    set_config_key(tmp.path() / "q4", key, key == std::string("num_attention_heads") ? 4 : 64);
  }
}

TEST(ModelLoadChecks, MultiLabelHeadScoresEachLabelWithASigmoid) {
  TempDir tmp;
  const fs::path dir = tiny_classifier(tmp.path() / "m", 3);
  set_config_key(dir, "problem_type", "multi_label_classification");
  const Model model = Model::load(dir, {.threads = 1});
  EXPECT_EQ(model.score_function(), ScoreFunction::Sigmoid);
  const std::vector<Classification> results = model.classify({{"the cat sat on the mat"}, {"a dog ran"}});
  ASSERT_EQ(results.size(), 2u);
  for (const Classification& c : results) {
    ASSERT_EQ(c.scores.size(), 3u);
    double sum = 0;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(c.scores[i], 1.0 / (1.0 + std::exp(-double(c.logits[i]))), 1e-6);
      sum += c.scores[i];
    }
    EXPECT_GT(std::fabs(sum - 1.0), 1e-3) << "sigmoid scores that sum to 1 look like a softmax";
    EXPECT_TRUE(c.has_label());
  }
}

TEST(ModelLoadChecks, SingleLabelHeadStillUsesSoftmax) {
  TempDir tmp;
  const Model model = Model::load(tiny_classifier(tmp.path() / "m", 3), {.threads = 1});
  EXPECT_EQ(model.score_function(), ScoreFunction::Softmax);
  const Classification c = model.classify({{"the cat sat"}})[0];
  EXPECT_NEAR(c.scores[0] + c.scores[1] + c.scores[2], 1.0, 1e-5);
}

// Issue 11: a cross-encoder / reranker head (one logit) got a softmax, always 1.0.
TEST(ModelLoadChecks, OneLogitHeadIsASigmoidUnlessRegression) {
  TempDir tmp;
  const fs::path dir = tiny_classifier(tmp.path() / "m", 1);
  {
    const Model model = Model::load(dir, {.threads = 1});
    EXPECT_EQ(model.score_function(), ScoreFunction::Sigmoid);
    const std::vector<Classification> results =
        model.classify({{"the cat sat", std::nullopt}, {"a dog ran in the park", std::nullopt}});
    ASSERT_EQ(results.size(), 2u);
    for (const Classification& c : results) {
      ASSERT_EQ(c.scores.size(), 1u);
      EXPECT_NEAR(c.scores[0], 1.0 / (1.0 + std::exp(-double(c.logits[0]))), 1e-6);
      EXPECT_LT(c.scores[0], 1.0f) << "a softmax of one logit";
    }
    EXPECT_NE(results[0].scores[0], results[1].scores[0]);
  }
  set_config_key(dir, "problem_type", "regression");
  EXPECT_EQ(Model::load(dir, {.threads = 1}).score_function(), ScoreFunction::Identity);
  set_config_key(dir, "problem_type", "single_label_classification");
  EXPECT_EQ(Model::load(dir, {.threads = 1}).score_function(), ScoreFunction::Sigmoid);
}

// Issue 11: sentence-transformers truncate at sentence_bert_config.json's
// max_seq_length (256 for all-MiniLM-L6-v2), not at the tokenizer's 128.
TEST(ModelLoadChecks, DefaultMaxLengthIsSentenceTransformersMaxSeqLength) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  write_tiny_bert(dir, {.max_positions = 300, .sentence_transformer = true});
  {
    nlohmann::json config;
    std::ifstream(dir / "tokenizer_config.json") >> config;
    config["model_max_length"] = 128;
    std::ofstream(dir / "tokenizer_config.json") << config.dump(2);
  }
  std::ofstream(dir / "sentence_bert_config.json") << R"({"max_seq_length": 256})";
  const Model model = Model::load(dir, {.threads = 1});
  EXPECT_EQ(model.tokenizer().default_max_length(), 128);
  EXPECT_EQ(model.default_max_length(), 256);

  // A text of ~200 tokens: cut at 256 it is whole, so it differs from its 128-token cut.
  std::string text;
  for (int i = 0; i < 150; ++i) text += i % 3 == 0 ? "the man " : "work ";  // words of the tiny vocabulary
  const std::vector<TextInput> input = {{text, std::nullopt}};
  const auto whole = model.embed(input);
  const auto cut = model.embed(input, {.max_length = 128});
  const auto at_256 = model.embed(input, {.max_length = 256});
  const size_t tokens = model.tokenize(input)[0].input_ids.size();
  EXPECT_GT(tokens, 128u);
  EXPECT_LT(tokens, 256u);
  EXPECT_EQ(whole, at_256);
  EXPECT_NE(whole, cut);

  // Still capped at the model's positions.
  std::ofstream(dir / "sentence_bert_config.json") << R"({"max_seq_length": 1000})";
  EXPECT_EQ(Model::load(dir, {.threads = 1}).default_max_length(), 300);
}

TEST(SharedModels, StsModelTruncatesAt256) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  EXPECT_EQ(Model::load(test::shared_dir() / "models/minilm-l6-sts", {.threads = 1}).default_max_length(),
            256);
}

TEST(ModelLoadChecks, NonFiniteLogitsGiveNoLabel) {
  const std::vector<std::string> labels = {"neg", "pos"};
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const Classification c = classification_from_logits({0.5f, bad}, labels);
    EXPECT_FALSE(c.has_label());
    EXPECT_EQ(c.label, "");
    EXPECT_EQ(c.label_index, -1);
  }
  const Classification ok = classification_from_logits({0.5f, 1.5f}, labels);
  EXPECT_EQ(ok.label, "pos");
}

TEST(ModelLoadChecks, TokenIdOutsideTheVocabularyNamesTheModel) {
  TempDir tmp;
  const fs::path dir = tiny_classifier(tmp.path() / "m", 2);
  const Model model = Model::load(dir, {.threads = 1});
  Encoding bad = model.tokenize({{"hello"}})[0];
  bad.input_ids[1] = 40000;
  const std::vector<Encoding> batch = {bad};
  expect_error([&] { model.embed_encodings(batch, 8); }, {dir.string(), "token id 40000"});
}

}  // namespace
}  // namespace qp
