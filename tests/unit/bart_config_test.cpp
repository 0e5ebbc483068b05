// BART options the engine does not build are refused by name (config.json
// and the key), never computed as something else; each test changes one key
// of the shared oracle's tiny model. And the decoder's causal mask.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "models/decoder_layer.h"
#include "models/registry.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

// The BART oracle with config.json keys replaced.
class EditedBart {
 public:
  explicit EditedBart(const nlohmann::json& edits) {
    const fs::path source = test::shared_dir() / "oracle" / "bart-tiny";
    fs::copy_file(source / "model.safetensors", dir_.path() / "model.safetensors");
    std::ifstream in(source / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    for (const auto& [key, value] : edits.items()) config[key] = value;
    std::ofstream(dir_.path() / "config.json") << config.dump(2);
  }
  std::unique_ptr<EncoderModel> load() const {
    return create_encoder(read_model_dir(dir_.path()), WeightStore::open_dir(dir_.path()));
  }
  std::string config_path() const { return (dir_.path() / "config.json").string(); }

 private:
  test::TempDir dir_;
};

struct Refusal {
  nlohmann::json edits;
  std::string key;  // the message names it
};

class BartRefusedConfig : public ::testing::TestWithParam<Refusal> {};

TEST_P(BartRefusedConfig, NamesTheKey) {
  QP_REQUIRE_SHARED("oracle/bart-tiny");
  const EditedBart model(GetParam().edits);
  test::expect_error([&] { model.load(); }, {model.config_path(), GetParam().key});
}

INSTANTIATE_TEST_SUITE_P(
    Bart, BartRefusedConfig,
    ::testing::Values(Refusal{{{"normalize_before", true}}, "'normalize_before'"},
                      Refusal{{{"add_final_layer_norm", true}}, "'add_final_layer_norm'"},
                      Refusal{{{"static_position_embeddings", true}}, "'static_position_embeddings'"},
                      Refusal{{{"normalize_embedding", false}}, "'normalize_embedding'"},
                      Refusal{{{"extra_pos_embeddings", 0}}, "'extra_pos_embeddings'"},
                      Refusal{{{"activation_function", "relu"}}, "'activation_function'"},
                      Refusal{{{"decoder_attention_heads", 5}}, "decoder_attention_heads"}),
    [](const auto& info) { return info.param.edits.begin().key(); });

// The same keys at their supported values load.
TEST(BartConfig, SupportedValuesLoad) {
  QP_REQUIRE_SHARED("oracle/bart-tiny");
  EXPECT_NO_THROW(EditedBart({{"normalize_before", false},
                              {"add_final_layer_norm", false},
                              {"static_position_embeddings", false},
                              {"normalize_embedding", true},
                              {"extra_pos_embeddings", 2}})
                      .load());
}

// The decoder's causal mask: keys after the query get -inf, the rest is
// left as it was.
TEST(CausalMask, MasksOnlyLaterKeys) {
  EncoderBatch batch;
  batch.seq_offsets = {0, 2, 5};
  batch.input_ids.assign(5, 0);
  batch.token_type_ids.assign(5, 0);
  const ScoreContext context{nullptr, nullptr, 0, 0, 0, &batch};
  const int len = 3;
  // The whole sequence at once, then queries 1..2 as one block.
  for (const auto& [first, count] : {std::pair{0, 3}, std::pair{1, 2}}) {
    std::vector<float> scores(count * len);
    for (size_t e = 0; e < scores.size(); ++e) scores[e] = static_cast<float>(e) + 0.5f;
    CausalMask().add_bias(context, 1, 0, first, count, scores.data());
    for (int r = 0; r < count; ++r)
      for (int j = 0; j < len; ++j) {
        const float value = scores[r * len + j];
        if (j > first + r)
          EXPECT_TRUE(std::isinf(value) && value < 0) << first + r << "," << j;
        else
          EXPECT_EQ(value, static_cast<float>(r * len + j) + 0.5f) << first + r << "," << j;
      }
  }
}

}  // namespace
}  // namespace qp
