// Parity with the fp32 reference outputs shipped with the real trained models
// in ../shared/models (a plain PyTorch implementation with Hugging Face BERT
// semantics): identical input ids, logits / embeddings within 1e-4 max |Δ|.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "param_name.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

constexpr float kTolerance = 1e-4f;

struct ParityCase {
  std::string model;
  std::string output_key;  // "logits" or "embedding"
};

class SharedParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(SharedParity, ProbesMatchReference) {
  const ParityCase& param = GetParam();
  QP_REQUIRE_SHARED("models/" + param.model);
  const std::filesystem::path dir = test::shared_dir() / "models" / param.model;
  std::ifstream in(dir / "reference_outputs.json");
  const nlohmann::json reference = nlohmann::json::parse(in);
  const Model model = Model::load(dir, {2});

  std::vector<TextInput> inputs;
  for (const auto& probe : reference["probes"]) {
    if (probe.contains("premise"))
      inputs.push_back({probe["premise"], probe["hypothesis"].get<std::string>()});
    else
      inputs.push_back({probe["text"], std::nullopt});
  }
  const std::vector<Encoding> encodings = model.tokenize(inputs, reference["max_length"]);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& probe = reference["probes"][i];
    EXPECT_EQ(encodings[i].input_ids, probe["input_ids"].get<std::vector<int32_t>>()) << "probe " << i;
    if (probe.contains("token_type_ids")) {
      EXPECT_EQ(encodings[i].token_type_ids, probe["token_type_ids"].get<std::vector<int32_t>>())
          << "probe " << i;
    }
  }
  const auto outputs = param.output_key == "logits" ? model.logits_for_encodings(encodings, 4)
                                                    : model.embed_encodings(encodings, 4);
  float worst = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto expected = reference["probes"][i][param.output_key].get<std::vector<float>>();
    ASSERT_EQ(outputs[i].size(), expected.size()) << "probe " << i;
    for (size_t j = 0; j < expected.size(); ++j)
      worst = std::max(worst, std::fabs(outputs[i][j] - expected[j]));
  }
  EXPECT_LT(worst, kTolerance);
  RecordProperty("max_abs_diff", std::to_string(worst));
  std::cout << "[ parity   ] " << param.model << " " << param.output_key << " max |diff| = " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Models, SharedParity,
                         ::testing::Values(ParityCase{"minilm-l6-genre", "logits"},
                                           ParityCase{"minilm-l6-sts", "embedding"},
                                           ParityCase{"minilm-l6-nli", "logits"}),
                         [](const auto& info) { return qp::test::param_name(info.param.model); });

}  // namespace
}  // namespace qp
