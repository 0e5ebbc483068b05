// The fp32 engine against PyTorch goldens of tiny generated models
// (tests/golden/make_torch_golden.py; BERT, DistilBERT, RoBERTa, F32/F16/BF16
// weights). Sequences run packed without padding; PyTorch ran them padded
// with an attention mask, so this also checks that padding never leaks in.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/pooling.h"
#include "models/registry.h"
#include "param_name.h"
#include "test_paths.h"

namespace qp {
namespace {

constexpr float kTolerance = 1e-4f;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

float max_abs_diff(const std::vector<float>& actual, const std::vector<float>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
    worst = std::max(worst, std::fabs(actual[i] - expected[i]));
  return worst;
}

std::vector<float> flatten(const nlohmann::json& rows) {
  std::vector<float> out;
  if (rows.is_array() && !rows.empty() && rows[0].is_array()) {
    for (const auto& row : rows)
      for (float v : row) out.push_back(v);
  } else {
    for (float v : rows) out.push_back(v);
  }
  return out;
}

class TinyModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyModelGolden, MatchesPyTorch) {
  const std::filesystem::path dir = test::source_dir() / "tests/golden/models" / GetParam();
  const nlohmann::json golden = read_json(dir / "golden.json");
  const ModelDir model_dir = read_model_dir(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(model_dir, weights);
  ThreadPool pool(2);

  std::vector<Encoding> encodings;
  for (const auto& seq : golden["sequences"]) {
    Encoding e;
    e.input_ids = seq["input_ids"].get<std::vector<int32_t>>();
    e.token_type_ids = seq.value("token_type_ids", std::vector<int32_t>(e.input_ids.size(), 0));
    encodings.push_back(e);
  }
  const EncoderBatch batch = EncoderBatch::from_encodings(encodings);
  const std::vector<float> hidden = encoder->encode(batch, pool);
  const int width = encoder->info().hidden_size;

  for (int s = 0; s < batch.num_sequences(); ++s) {
    const auto& seq = golden["sequences"][s];
    const std::vector<float> rows(hidden.begin() + static_cast<size_t>(batch.seq_offsets[s]) * width,
                                  hidden.begin() + static_cast<size_t>(batch.seq_offsets[s + 1]) * width);
    EXPECT_LT(max_abs_diff(rows, flatten(seq["last_hidden_state"])), kTolerance) << "sequence " << s;
  }
  if (golden["sequences"][0].contains("logits")) {
    const std::vector<float> logits = encoder->classify(batch, hidden, pool);
    std::vector<float> expected;
    for (const auto& seq : golden["sequences"])
      for (float v : seq["logits"]) expected.push_back(v);
    EXPECT_LT(max_abs_diff(logits, expected), kTolerance) << "logits";
  }
  if (golden["sequences"][0].contains("embedding")) {
    ASSERT_TRUE(model_dir.sentence_transformer.has_value());
    std::vector<float> pooled =
        pool_sequences(hidden, width, batch, model_dir.sentence_transformer->pooling.mode);
    if (model_dir.sentence_transformer->normalize) l2_normalize_rows(pooled, width);
    std::vector<float> expected;
    for (const auto& seq : golden["sequences"])
      for (float v : seq["embedding"]) expected.push_back(v);
    EXPECT_LT(max_abs_diff(pooled, expected), kTolerance) << "embedding";
  }
}

// DistilBERT has no token type embeddings and transformers does not pass it
// token types, but a BERT-style pair post-processor numbers the second segment
// 1: those ids are ignored (the PyTorch logits, made without them, still hold),
// while a model with token types still refuses one it does not have.
TEST(TinyModelTokenTypes, IgnoredByAModelWithoutThem) {
  const auto run = [](const std::string& name, int32_t type) {
    const std::filesystem::path dir = test::source_dir() / "tests/golden/models" / name;
    const nlohmann::json golden = read_json(dir / "golden.json");
    const auto encoder = create_encoder(read_model_dir(dir), WeightStore::open_dir(dir));
    ThreadPool pool(2);
    std::vector<Encoding> encodings;
    std::vector<float> expected;
    for (const auto& seq : golden["sequences"]) {
      Encoding e;
      e.input_ids = seq["input_ids"].get<std::vector<int32_t>>();
      e.token_type_ids.assign(e.input_ids.size(), 0);
      std::fill(e.token_type_ids.begin() + static_cast<std::ptrdiff_t>(e.input_ids.size() / 2),
                e.token_type_ids.end(), type);
      encodings.push_back(e);
      for (float v : seq["logits"]) expected.push_back(v);
    }
    const EncoderBatch batch = EncoderBatch::from_encodings(encodings);
    return max_abs_diff(encoder->classify(batch, encoder->encode(batch, pool), pool), expected);
  };
  EXPECT_LT(run("distilbert-tiny-cls", 1), kTolerance);
  EXPECT_THROW(run("bert-tiny-cls", 5), Error);
}

INSTANTIATE_TEST_SUITE_P(Architectures, TinyModelGolden,
                         ::testing::Values("bert-tiny-st", "bert-tiny-cls", "bert-tiny-cls-f16",
                                           "bert-tiny-cls-bf16", "distilbert-tiny", "distilbert-tiny-cls",
                                           "roberta-tiny", "roberta-tiny-cls"),
                         [](const auto& info) { return qp::test::param_name(info.param); });

}  // namespace
}  // namespace qp
