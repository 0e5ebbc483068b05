// quantpipe convert --bits auto: sensitivity measured with the engine, bits
// per tensor chosen within --target-size-mb (or --max-accuracy-drop), the
// plan printed, stored in quantpipe.json and the one the file holds; a
// target below every plan is refused and writes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/sensitivity.h"
#include "cli_runner.h"
#include "io/safetensors.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_json.h"
#include "test_paths.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ConvertMixed : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = dir_.path() / "src";
    write_tiny_bert(source_, {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
  }
  CliResult convert(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "convert", "-m",   source_.string(), "-o",        (dir_.path() / name).string(),
        "--bits",  "auto", "--calibration",  "synthetic", "--calibration-samples",
        "24"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  TempDir dir_;
  fs::path source_;
};

TEST_F(ConvertMixed, TargetsAreMetWithTheLeastErrorAndThePlanIsWhatTheFileHolds) {
  // A generous target first: the plan is the least-error one, and its record
  // gives the range of sizes any plan can have.
  const CliResult wide = convert("wide", {"--target-size-mb", "100"});
  ASSERT_EQ(wide.exit_code, 0) << wide;
  const json record = read_json(dir_.path() / "wide/quantpipe.json")["plan"]["mixed_precision"];
  ASSERT_TRUE(record.is_object());
  const auto units = quant::units_from_json(record);
  ASSERT_EQ(units.size(), 2u * 4 + 1);  // per layer qkv, attention out, up, down; the word embeddings
  const int64_t fixed = record["fixed_bytes"];
  const int64_t low = quant::smallest_plan_bytes(units, fixed),
                high = quant::largest_plan_bytes(units, fixed);
  for (const quant::PrecisionUnit& u : units) {
    const bool embedding = u.name.find("word_embeddings") != std::string::npos;
    EXPECT_EQ(u.options.size(), embedding ? 5u : 7u) << u.name;  // 8/6/4/3(/2/ternary) bits, 16-bit
    for (const quant::PrecisionOption& o : u.options)
      EXPECT_GT(o.error, 0.0) << u.name << " " << quant::option_name(o);
    // The tiny model is fp32: its 16-bit option is f16, half the bytes, and loses less than 8 bits.
    const quant::PrecisionOption& half = u.options.back();
    EXPECT_EQ(quant::option_name(half), "f16") << u.name;
    EXPECT_LT(half.error, u.options[0].error) << u.name;
    // Fewer bits lose more: 2-bit codes cost more error than 8-bit ones.
    EXPECT_GT(u.options[embedding ? 3 : 4].error, u.options[0].error) << u.name;
  }

  // The least-error plan keeps units 16-bit: stored as f16, and loaded as such.
  const json wide_report = read_json(dir_.path() / "wide/quantpipe.json");
  int halves = 0;
  for (const json& row : wide_report["tensors"])
    if (row["reason"] == "kept: mixed precision, stored as f16") {
      ++halves;
      int64_t numel = 1;
      for (const json& d : row["shape"]) numel *= d.get<int64_t>();
      EXPECT_EQ(row["stored_bytes"].get<int64_t>(), numel * 2) << row.dump();
    }
  EXPECT_GT(halves, 0) << wide_report["plan"]["mixed_precision"].dump(1);
  EXPECT_EQ(Model::load(dir_.path() / "wide", {.threads = 1}).classify({{"alpha beta"}}).size(), 1u);

  double previous_error = -1;
  for (double fraction : {0.75, 0.5, 0.2}) {
    const double target_mb = (static_cast<double>(low) + fraction * static_cast<double>(high - low)) / 1e6;
    const std::string name = "t" + std::to_string(static_cast<int>(fraction * 100));
    const CliResult run = convert(name, {"--target-size-mb", std::to_string(target_mb)});
    ASSERT_EQ(run.exit_code, 0) << run;
    EXPECT_NE(run.out.find("mixed precision plan"), std::string::npos) << run;
    const json report = read_json(dir_.path() / name / "quantpipe.json");
    const json& plan = report["plan"]["mixed_precision"];
    const double stored_mb = report["sizes"]["quantized_bytes"].get<double>() / 1e6;
    EXPECT_LE(stored_mb, target_mb) << name;
    EXPECT_GE(stored_mb, 0.9 * target_mb) << name;
    EXPECT_EQ(plan["bytes"].get<int64_t>(), report["sizes"]["quantized_bytes"].get<int64_t>()) << name;
    EXPECT_EQ(report["sizes"]["target_size_mb"].get<double>(), std::stod(std::to_string(target_mb)));
    // A smaller budget never loses less.
    EXPECT_GE(plan["predicted_error"].get<double>(), previous_error);
    previous_error = plan["predicted_error"].get<double>();

    // Each tensor is stored as its unit's choice.
    std::map<std::string, std::string> chosen;
    for (const json& unit : plan["units"])
      for (const json& tensor : unit["tensors"]) chosen[tensor.get<std::string>()] = unit["chosen"];
    int checked = 0;
    for (const json& row : report["tensors"]) {
      const auto it = chosen.find(row["name"].get<std::string>());
      if (it == chosen.end()) continue;
      const bool half = row["reason"] == "kept: mixed precision, stored as f16";
      EXPECT_EQ(row.value("scheme", std::string(half ? "f16" : "keep")), it->second) << row.dump();
      ++checked;
    }
    EXPECT_EQ(checked, static_cast<int>(chosen.size()));
    const Model model = Model::load(dir_.path() / name, {.threads = 1});
    EXPECT_EQ(model.classify({{"alpha beta"}}).size(), 1u);
    EXPECT_EQ(model.weight_format().rfind("mixed q", 0), 0u) << model.weight_format();
  }
}

TEST_F(ConvertMixed, TargetBelowEveryPlanIsRefusedAndWritesNothing) {
  const CliResult run = convert("small", {"--target-size-mb", "0.001"});
  EXPECT_NE(run.exit_code, 0) << run;
  EXPECT_NE(run.err.find("no plan within budget"), std::string::npos) << run;
  EXPECT_FALSE(fs::exists(dir_.path() / "small"));
}

TEST_F(ConvertMixed, AccuracyBoundSearchesForTheSmallestPlanThatHoldsIt) {
  const CliResult run = convert("drop", {"--max-accuracy-drop", "0"});
  ASSERT_EQ(run.exit_code, 0) << run;
  const json plan = read_json(dir_.path() / "drop/quantpipe.json")["plan"]["mixed_precision"];
  EXPECT_EQ(plan["max_accuracy_drop"].get<double>(), 0.0);
  EXPECT_EQ(plan["calibration_drop"].get<double>(), 0.0);
  EXPECT_EQ(plan["drop_measure"], "label disagreement");
  ASSERT_FALSE(plan["search"].empty());  // the smallest plan was tried first
  for (const json& step : plan["search"]) EXPECT_TRUE(step.contains("calibration_drop"));
}

// A bisection: after a plan that holds the bound the next one tried is no
// larger, after one that breaks it no smaller; the chosen plan is the
// smallest that held it.
TEST_F(ConvertMixed, AccuracyBoundBisectsTowardsTheBoundary) {
  // An embedding model: its drop (1 − mean cosine) moves with every plan.
  fs::remove_all(source_);
  write_tiny_bert(source_, {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 0});
  const CliResult run = convert("bisect", {"--max-accuracy-drop", "0.0005"});
  ASSERT_EQ(run.exit_code, 0) << run;
  const json plan = read_json(dir_.path() / "bisect/quantpipe.json")["plan"]["mixed_precision"];
  const json& steps = plan["search"];
  ASSERT_GE(steps.size(), 2u) << plan.dump(1);
  int64_t smallest_holding = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool holds = steps[i]["calibration_drop"].get<double>() <= 0.0005;
    const int64_t bytes = steps[i]["bytes"];
    if (holds) smallest_holding = std::min(smallest_holding, bytes);
    if (i == 0 || i + 1 == steps.size()) continue;  // the first step is the smallest plan itself
    const int64_t next = steps[i + 1]["bytes"];
    if (holds) {
      EXPECT_LE(next, bytes) << "step " << i << ": " << steps.dump(1);
    } else {
      EXPECT_GE(next, bytes) << "step " << i << ": " << steps.dump(1);
    }
  }
  if (steps[0]["calibration_drop"].get<double>() > 0.0005 &&
      smallest_holding != std::numeric_limits<int64_t>::max()) {
    EXPECT_EQ(plan["bytes"].get<int64_t>(), smallest_holding);
  }
  EXPECT_LE(plan["calibration_drop"].get<double>(), 0.0005);
  EXPECT_EQ(plan["drop_measure"], "1 - mean cosine");
}

TEST_F(ConvertMixed, BadCombinationsAreErrors) {
  CliResult run = convert("none", {});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--target-size-mb and/or --max-accuracy-drop"), std::string::npos) << run;
  run = run_cli(
      {"convert", "-m", source_.string(), "-o", (dir_.path() / "x").string(), "--max-accuracy-drop", "0.01"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--bits auto"), std::string::npos) << run;
}

TEST(ReplacedWeights, TheModelRunsWithTheGivenValues) {
  TempDir dir;
  write_tiny_bert(dir.path(), {.hidden = 32, .layers = 1, .heads = 2, .intermediate = 64, .num_labels = 2});
  const WeightStore weights = WeightStore::open_dir(dir.path());
  const std::string name = "classifier.weight";
  const TensorView& view = weights.require(name);
  std::vector<float> same = to_f32(view), zero(same.size(), 0.0f);
  const Model original = Model::load(dir.path(), {.threads = 1});
  const Model unchanged = Model::load_with_replaced_weights(dir.path(), {.threads = 1}, {{name, same}});
  const Model zeroed = Model::load_with_replaced_weights(dir.path(), {.threads = 1}, {{name, zero}});
  const auto a = original.classify({{"alpha beta"}}), b = unchanged.classify({{"alpha beta"}}),
             c = zeroed.classify({{"alpha beta"}});
  EXPECT_EQ(a[0].logits, b[0].logits);
  EXPECT_NE(a[0].logits, c[0].logits);
  EXPECT_THROW(Model::load_with_replaced_weights(dir.path(), {.threads = 1}, {{"no.such.weight", same}}),
               Error);
  EXPECT_THROW(Model::load_with_replaced_weights(dir.path(), {.threads = 1}, {{name, {1.0f}}}), Error);
}

}  // namespace
}  // namespace qp::test
