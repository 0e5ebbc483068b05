// The fp32 engine against Hugging Face transformers' own modeling code: the
// tiny random models of ../shared/oracle/<arch>-tiny and their
// reference_outputs.json (a padded batch of three rows). Sequences run here
// packed without padding, so only attended positions are compared, as the
// oracle's README says; logits of every row within 1e-4.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/registry.h"
#include "test_paths.h"

namespace qp {
namespace {

constexpr float kTolerance = 1e-4f;

struct OracleBatch {
  std::vector<Encoding> encodings;  // attended positions only
  nlohmann::json reference;
};

OracleBatch read_oracle(const std::filesystem::path& dir) {
  std::ifstream in(dir / "reference_outputs.json");
  OracleBatch batch{{}, nlohmann::json::parse(in)};
  const auto& ref = batch.reference;
  for (size_t row = 0; row < ref["input_ids"].size(); ++row) {
    Encoding e;
    for (size_t t = 0; t < ref["input_ids"][row].size(); ++t) {
      if (ref["attention_mask"][row][t] == 0) continue;
      e.input_ids.push_back(ref["input_ids"][row][t]);
      e.token_type_ids.push_back(ref.contains("token_type_ids") ? ref["token_type_ids"][row][t].get<int>()
                                                                : 0);
    }
    batch.encodings.push_back(e);
  }
  return batch;
}

class OracleParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OracleParity, Fp32MatchesTransformers) {
  const std::string relative = "oracle/" + GetParam() + "-tiny";
  QP_REQUIRE_SHARED(relative);
  const std::filesystem::path dir = test::shared_dir() / relative;
  const OracleBatch oracle = read_oracle(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(read_model_dir(dir), weights);
  ThreadPool pool(2);
  const EncoderBatch batch = EncoderBatch::from_encodings(oracle.encodings);
  const std::vector<float> hidden = encoder->encode(batch, pool);
  const int width = encoder->info().hidden_size;
  const auto& expected_hidden = oracle.reference["last_hidden_state"];
  for (int s = 0; s < batch.num_sequences(); ++s) {
    float worst = 0;
    for (int t = 0; t < batch.length(s); ++t)
      for (int c = 0; c < width; ++c)
        worst = std::max(worst, std::fabs(hidden[static_cast<size_t>(batch.seq_offsets[s] + t) * width + c] -
                                          expected_hidden[s][t][c].get<float>()));
    EXPECT_LT(worst, kTolerance) << GetParam() << " row " << s << " last_hidden_state";
  }
  const std::vector<float> logits = encoder->classify(batch, hidden, pool);
  const auto& expected_logits = oracle.reference["logits"];
  const size_t labels = expected_logits[0].size();
  ASSERT_EQ(logits.size(), expected_logits.size() * labels);
  for (size_t s = 0; s < expected_logits.size(); ++s)
    for (size_t j = 0; j < labels; ++j)
      EXPECT_NEAR(logits[s * labels + j], expected_logits[s][j].get<float>(), kTolerance)
          << GetParam() << " row " << s << " logit " << j;
}

INSTANTIATE_TEST_SUITE_P(Architectures, OracleParity,
                         ::testing::Values("bert", "distilbert", "roberta", "xlm-roberta", "deberta-v2",
                                           "mpnet"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace qp
