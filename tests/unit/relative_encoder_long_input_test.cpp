// MPNet and DeBERTa-v2 on inputs longer than the shared oracle's 20 tokens,
// against transformers 4.48 (tests/golden/relative_position/long_inputs.json,
// made by make_long_input_golden.py from the same ../shared oracle weights):
// MPNet rows of 64 and 41 tokens (buckets in their logarithmic range), DeBERTa
// rows of 130 and 66 (relative positions past max_position_embeddings, so the
// log buckets and the c2p / p2c clamps are reached). fp32 within 1e-4.
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

class LongInputParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LongInputParity, Fp32MatchesTransformers) {
  const std::string arch = GetParam();
  QP_REQUIRE_SHARED("oracle/" + arch + "-tiny");
  std::ifstream in(test::source_dir() / "tests/golden/relative_position/long_inputs.json");
  const nlohmann::json golden = nlohmann::json::parse(in)[arch];
  std::vector<Encoding> encodings;
  for (const auto& row : golden["input_ids"]) {
    Encoding e;
    e.input_ids = row.get<std::vector<int32_t>>();
    e.token_type_ids.assign(e.input_ids.size(), 0);
    encodings.push_back(e);
  }
  const std::filesystem::path dir = test::shared_dir() / "oracle" / (arch + "-tiny");
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(read_model_dir(dir), weights);
  ThreadPool pool(2);
  const EncoderBatch batch = EncoderBatch::from_encodings(encodings);
  ASSERT_GT(batch.length(0), 60);
  const std::vector<float> hidden = encoder->encode(batch, pool);
  const int width = encoder->info().hidden_size;
  for (int s = 0; s < batch.num_sequences(); ++s) {
    float worst = 0;
    for (int t = 0; t < batch.length(s); ++t)
      for (int c = 0; c < width; ++c)
        worst = std::max(worst, std::fabs(hidden[static_cast<size_t>(batch.seq_offsets[s] + t) * width + c] -
                                          golden["last_hidden_state"][s][t][c].get<float>()));
    EXPECT_LT(worst, kTolerance) << arch << " row " << s << " (" << batch.length(s) << " tokens)";
  }
  const std::vector<float> logits = encoder->classify(batch, hidden, pool);
  const size_t labels = golden["logits"][0].size();
  ASSERT_EQ(logits.size(), golden["logits"].size() * labels);
  for (size_t s = 0; s < golden["logits"].size(); ++s)
    for (size_t j = 0; j < labels; ++j)
      EXPECT_NEAR(logits[s * labels + j], golden["logits"][s][j].get<float>(), kTolerance)
          << arch << " " << s;
}

INSTANTIATE_TEST_SUITE_P(Architectures, LongInputParity, ::testing::Values("mpnet", "deberta-v2"),
                         [](const auto& info) { return info.param == "mpnet" ? "mpnet" : "deberta_v2"; });

}  // namespace
}  // namespace qp
