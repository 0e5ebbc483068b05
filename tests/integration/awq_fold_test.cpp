// AWQ's fold is exact: the fp32 model with the attention output's input
// channels scaled by s and the value projection's output channels divided by
// s computes what the original does; convert --method awq records the
// scales it chose and which weights carry them.
#include "api/awq_fold.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "api/calibration.h"
#include "cli_runner.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_json.h"
#include "test_paths.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(AwqFold, ScalingAndFoldingLeavesTheFp32ModelUnchanged) {
  TempDir dir;
  write_tiny_bert(dir.path(), {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
  quant::PlanOptions plan_options;
  plan_options.linear = quant::parse_scheme("q2_affine_g64");
  const auto plan = quant::plan_conversion(dir.path(), plan_options);
  const CalibrationResult calibrated =
      collect_hessians(dir.path(), plan, CalibrationOptions{.file = "synthetic", .samples = 24});
  // A fixed α, so that every attention output is scaled whatever the search would pick.
  const AwqFoldResult folded = fold_awq_scales(dir.path(), plan, calibrated.hessians, {}, {.alpha = 0.5});
  ASSERT_EQ(folded.scaled.size(), 2u);  // one attention output per layer
  ASSERT_EQ(folded.record["folds"].size(), 2u);
  for (const json& f : folded.record["folds"]) {
    EXPECT_EQ(f["alpha"], 0.5);
    EXPECT_NE(f["folded_into"].get<std::string>().find("attention.self.value"), std::string::npos) << f;
  }
  // Scaled weight, value weight and value bias for each layer.
  EXPECT_EQ(folded.replaced.size(), 6u);

  const std::vector<TextInput> inputs = {{"alpha beta gamma"}, {"delta epsilon", "zeta eta theta"}};
  const Model original = Model::load(dir.path(), {.threads = 1});
  const auto reference = original.embed(inputs);
  // Largest difference of the token-mean hidden states to the original's.
  auto distance = [&](const std::map<std::string, std::vector<float>>& replaced) {
    const auto other = Model::load_with_replaced_weights(dir.path(), {.threads = 1}, replaced).embed(inputs);
    double most = 0;
    for (size_t i = 0; i < reference.size(); ++i)
      for (size_t j = 0; j < reference[i].size(); ++j)
        most = std::max(most, static_cast<double>(std::abs(reference[i][j] - other[i][j])));
    return most;
  };
  const double folded_distance = distance(folded.replaced);
  EXPECT_LT(folded_distance, 1e-5);
  // The scaled weights alone (no fold) do change the model: the fold is what keeps it.
  std::map<std::string, std::vector<float>> unfolded;
  for (const std::string& name : folded.scaled) unfolded[name] = folded.replaced.at(name);
  EXPECT_GT(distance(unfolded), 1e-3);
}

TEST(AwqFold, ConvertRecordsTheScalesAndTheWeightsThatCarryThem) {
  TempDir dir;
  const fs::path source = dir.path() / "src", out = dir.path() / "awq";
  write_tiny_bert(source, {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
  const CliResult r = run_cli({"convert", "-q", "-m", source.string(), "-o", out.string(), "--bits", "2",
                               "--method", "awq", "--calibration", "synthetic"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::ifstream in(out / "quantpipe.json");
  const json report = json::parse(in);
  EXPECT_EQ(report["plan"]["method"], "awq");
  const json& folds = report["plan"]["awq"]["folds"];
  ASSERT_EQ(folds.size(), 2u);
  std::set<std::string> scaled;
  for (const json& f : folds) {
    EXPECT_LE(f["output_error"].get<double>(), f["rtn_output_error"].get<double>()) << f;
    if (f["alpha"].get<double>() > 0) scaled.insert(f["weight"]);
  }
  for (const json& row : report["tensors"]) {
    if (!row.contains("method")) continue;
    EXPECT_EQ(row["method"], scaled.count(row["name"]) ? "awq" : "rtn") << row.dump();
  }
  EXPECT_EQ(Model::load(out, {.threads = 1}).classify({{"alpha beta"}}).size(), 1u);
  const CliResult mixed = run_cli({"convert", "-m", source.string(), "-o", (dir.path() / "m").string(),
                                   "--bits", "auto", "--target-size-mb", "1", "--method", "awq"});
  EXPECT_NE(mixed.exit_code, 0);
  EXPECT_NE(mixed.err.find("not combined yet"), std::string::npos) << mixed;
}

}  // namespace
}  // namespace qp::test

namespace qp::test {
namespace {

// ModernBERT normalises before attention and feed-forward: there the norms'
// gains take the inverse scales of Wqkv and Wi, exactly (layer 0 has no
// attention norm, so its Wqkv keeps round to nearest).
TEST(AwqFold, PreNormLayersFoldIntoTheirNorms) {
  QP_REQUIRE_SHARED("oracle/modernbert-tiny");
  const fs::path source = shared_dir() / "oracle/modernbert-tiny";
  const json reference = read_json(source / "reference_outputs.json");
  TempDir dir;
  const fs::path calibration = dir.path() / "ids.jsonl";
  write_oracle_calibration(source, calibration);
  quant::PlanOptions plan_options;
  plan_options.linear = quant::parse_scheme("q4_affine_g32");
  const auto plan = quant::plan_conversion(source, plan_options);
  const CalibrationResult calibrated =
      collect_hessians(source, plan, CalibrationOptions{.file = calibration, .samples = 64});
  const AwqFoldResult folded = fold_awq_scales(source, plan, calibrated.hessians, {}, {.alpha = 0.5});
  std::set<std::string> into;
  for (const json& f : folded.record["folds"]) into.insert(f["folded_into"].get<std::string>());
  int norms = 0;
  for (const std::string& name : into) norms += name.find("_norm") != std::string::npos;
  EXPECT_GE(norms, 3) << folded.record.dump(1);  // mlp_norm of every layer, attn_norm from layer 1
  for (const std::string& name : folded.scaled)
    EXPECT_TRUE(name.find("Wqkv") != std::string::npos || name.find("Wi") != std::string::npos) << name;

  const Model original = Model::load(source, {.threads = 1});
  const Model refolded = Model::load_with_replaced_weights(source, {.threads = 1}, folded.replaced);
  const std::vector<Encoding> rows = oracle_encodings(reference);
  const auto a = original.embed_encodings(rows, 4), b = refolded.embed_encodings(rows, 4);
  double most = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) most = std::max(most, double(std::abs(a[i][j] - b[i][j])));
  EXPECT_LT(most, 1e-4);
}

}  // namespace
}  // namespace qp::test
