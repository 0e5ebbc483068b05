// fp32 task metrics of the real models in ../shared on their dev data must
// equal the values published in ../shared/README.md to 3 decimals:
// genre accuracy 0.8343, NLI accuracy 0.3708, STS-B Spearman 0.6738.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/datasets.h"
#include "eval/metrics.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

constexpr double kThreeDecimals = 0.0005;

double classification_accuracy(const std::string& model_name, const std::string& data_file,
                               const ColumnMapping& columns) {
  const Model model = Model::load(test::shared_dir() / "models" / model_name, {0});
  const std::vector<LabelledExample> examples =
      read_jsonl_dataset(test::shared_dir() / "data" / data_file, columns);
  std::vector<TextInput> inputs;
  std::vector<std::string> gold, predicted;
  for (const LabelledExample& e : examples) {
    inputs.push_back(e.input);
    gold.push_back(e.label);
  }
  for (const Classification& c : model.classify(inputs, {64, 0})) predicted.push_back(c.label);
  return accuracy(predicted, gold);
}

TEST(SharedAccuracy, GenreClassifierMatchesPublishedAccuracy) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const double acc = classification_accuracy("minilm-l6-genre", "genre/dev_a.jsonl", {"text", "", "label"});
  std::cout << "[ accuracy ] minilm-l6-genre on genre/dev_a.jsonl: " << acc << "\n";
  EXPECT_NEAR(acc, 0.8343, kThreeDecimals);
}

TEST(SharedAccuracy, NliClassifierMatchesPublishedAccuracy) {
  QP_REQUIRE_SHARED("models/minilm-l6-nli");
  const double acc =
      classification_accuracy("minilm-l6-nli", "mnli/dev_a.jsonl", {"premise", "hypothesis", "label"});
  std::cout << "[ accuracy ] minilm-l6-nli on mnli/dev_a.jsonl: " << acc << "\n";
  EXPECT_NEAR(acc, 0.3708, kThreeDecimals);
}

TEST(SharedAccuracy, StsEmbedderMatchesPublishedSpearman) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  const Model model = Model::load(test::shared_dir() / "models/minilm-l6-sts", {0});
  const auto examples =
      read_tsv_dataset(test::shared_dir() / "data/stsb/dev_a.tsv", {"sentence1", "sentence2", "score"});
  std::vector<TextInput> first, second;
  std::vector<double> gold;
  for (const LabelledExample& e : examples) {
    first.push_back({e.input.text, std::nullopt});
    second.push_back({*e.input.text_pair, std::nullopt});
    gold.push_back(e.score);
  }
  const auto a = model.embed(first, {64, 0});
  const auto b = model.embed(second, {64, 0});
  std::vector<double> similarity;
  for (size_t i = 0; i < a.size(); ++i) similarity.push_back(cosine_similarity(a[i], b[i]));
  const double rho = spearman(similarity, gold);
  std::cout << "[ spearman ] minilm-l6-sts on stsb/dev_a.tsv: " << rho << "\n";
  EXPECT_EQ(examples.size(), 750u);
  EXPECT_NEAR(rho, 0.6738, kThreeDecimals);
}

}  // namespace
}  // namespace qp
