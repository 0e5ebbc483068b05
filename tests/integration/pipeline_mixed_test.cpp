// bits: auto in pipeline configs: the variant is named by its budget, the
// conversion chooses bits per tensor within target_size_mb (quantpipe.json
// holds the plan, the size gate passes), and when a gate fails the precision
// of the most sensitive tensors is raised and the variant converted and
// evaluated again, a bounded number of times, with the verdict counted once.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "quant/mixed_precision.h"
#include "test_json.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

class PipelineMixed : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(dir_.path() / "classifier",
                    {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
    const char* texts[] = {"the cat sat on the mat",    "a dog runs in the park", "we went to the city",
                           "the man is playing a game", "it is a good day",       "she reads a book"};
    std::ofstream labelled(dir_.path() / "labelled.jsonl");
    for (int i = 0; i < 6; ++i)
      labelled << json({{"text", texts[i]}, {"label", "LABEL_" + std::to_string(i % 3)}}).dump() << "\n";
    // The range of sizes a plan can have, from a conversion with a generous target.
    const CliResult wide = run_cli({"convert", "-q", "-m", (dir_.path() / "classifier").string(), "-o",
                                    (dir_.path() / "wide").string(), "--bits", "auto", "--target-size-mb",
                                    "100", "--calibration", "synthetic", "--calibration-samples", "8"});
    EXPECT_EQ(wide.exit_code, 0) << wide;
    const json record = read_json(dir_.path() / "wide/quantpipe.json")["plan"]["mixed_precision"];
    const auto units = quant::units_from_json(record);
    low_ = quant::smallest_plan_bytes(units, record["fixed_bytes"]);
    high_ = quant::largest_plan_bytes(units, record["fixed_bytes"]);
  }

  CliResult run(const std::string& quantization) {
    std::ofstream(dir_.path() / "p.yaml")
        << "models:\n  - name: classifier\n    path: classifier\n    task: classification\n"
        << "    calibration: {samples: 8}\n"
        << "    quantization:\n      - " << quantization << "\n"
        << "    benchmarks: [labelled]\n"
           "datasets:\n"
           "  - {name: labelled, provider: local, path: labelled.jsonl, metrics: [accuracy]}\n";
    return run_cli(
        {"pipeline", "--config", (dir_.path() / "p.yaml").string(), "--workspace", ws().string(), "-t", "1"});
  }
  fs::path ws() const { return dir_.path() / "ws"; }
  // A target between the smallest and the largest plan, in whole kB.
  std::string target_mb(double fraction) const {
    return std::to_string(std::round((low_ + fraction * (high_ - low_)) / 1e3) / 1e3);
  }

  TempDir dir_;
  double low_ = 0, high_ = 0;
};

TEST_F(PipelineMixed, TargetSizeChoosesBitsPerTensorAndTheSizeGatePasses) {
  const std::string target = target_mb(0.5);
  const CliResult r = run("{bits: auto, target_size_mb: " + target +
                          ", size_tolerance: 0.2, min_speedup: 0, max_accuracy_drop: 1, min_agreement: 0}");
  ASSERT_EQ(r.exit_code, 0) << r;
  char name[64];
  std::snprintf(name, sizeof name, "classifier_mixed_%gmb_drop1", std::stod(target));
  const json report = read_json(ws() / "models" / name / "quantpipe.json");
  const json& plan = report["plan"]["mixed_precision"];
  ASSERT_TRUE(plan.is_object()) << report.dump(1);
  EXPECT_LE(report["sizes"]["quantized_bytes"].get<double>(), std::stod(target) * 1e6);
  EXPECT_EQ(plan["target_size_mb"].get<double>(), std::stod(target));
  EXPECT_EQ(report["plan"]["calibration"]["source"], "first benchmark dataset labelled");
  EXPECT_TRUE(plan["raised"].empty());
  const std::string log = read_text(ws() / "logs/conversion_classifier.log");
  EXPECT_NE(log.find("--bits auto"), std::string::npos) << log;
  EXPECT_EQ(log.find("raising the precision"), std::string::npos) << log;
}

TEST_F(PipelineMixed, AFailedGateRaisesPrecisionABoundedNumberOfTimes) {
  // A speed gate no model passes: every raise is tried, none helps, and the
  // verdict (counted once) says what was tried.
  const CliResult r = run("{bits: auto, target_size_mb: " + target_mb(0.6) +
                          ", max_raises: 2, min_speedup: 1000, max_accuracy_drop: 1, min_agreement: 0}");
  EXPECT_NE(r.exit_code, 0) << r;
  const std::string said = r.out + r.err;
  EXPECT_NE(said.find("speedup"), std::string::npos) << r;
  EXPECT_NE(said.find("after 2 precision raise(s)"), std::string::npos) << r;
  const fs::path models = ws() / "models";
  ASSERT_TRUE(fs::exists(models));
  for (const auto& entry : fs::directory_iterator(models)) {
    const json plan = read_json(entry.path() / "quantpipe.json")["plan"]["mixed_precision"];
    EXPECT_FALSE(plan["raised"].empty()) << plan.dump(1);
    int floors = 0;
    for (const json& f : plan["min_unit_bytes"]) floors += f.get<int64_t>() > 0;
    EXPECT_GE(floors, 2) << "two raises keep their floors: " << plan["min_unit_bytes"].dump();
  }
  const std::string log = read_text(ws() / "logs/conversion_classifier.log");
  EXPECT_NE(log.find("raising the precision of the most sensitive tensors"), std::string::npos) << log;
  EXPECT_NE(said.find("1 evaluation(s) failed a quality gate"), std::string::npos) << r;
  EXPECT_EQ(said.find("fails by", said.find("fails by") + 1), std::string::npos)
      << "one failed gate line: " << r;
}

TEST_F(PipelineMixed, NoRaiseFitsATightTargetAndTheVerdictSaysSo) {
  const CliResult r = run("{bits: auto, target_size_mb: " + target_mb(0.0) +
                          ", min_speedup: 1000, max_accuracy_drop: 1, min_agreement: 0}");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE((r.out + r.err).find("no plan within budget"), std::string::npos) << r;
}

// Two targets of one model: the second conversion reuses the sensitivities
// the first measured (same method, same calibration rows).
TEST_F(PipelineMixed, VariantsOfOneModelShareTheirSensitivityMeasurements) {
  const std::string gates = ", size_tolerance: 0.3, min_speedup: 0, min_agreement: 0}";
  const CliResult r = run("{bits: auto, target_size_mb: " + target_mb(0.4) + gates +
                          "\n      - {bits: auto, " + "target_size_mb: " + target_mb(0.7) + gates);
  ASSERT_EQ(r.exit_code, 0) << r;
  int reused = 0, measured = 0;
  for (const auto& entry : fs::directory_iterator(ws() / "models")) {
    const json record = read_json(entry.path() / "quantpipe.json")["plan"]["mixed_precision"];
    (record["sensitivity"]["reused"].get<bool>() ? reused : measured) += 1;
    EXPECT_EQ(record["calibration"]["source"], "first benchmark dataset labelled") << record.dump(1);
  }
  EXPECT_EQ(measured, 1);
  EXPECT_EQ(reused, 1);
}

TEST_F(PipelineMixed, AutoWithoutABudgetIsAConfigError) {
  const CliResult r = run("{bits: auto, min_speedup: 0}");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE((r.out + r.err).find("target_size_mb and/or max_accuracy_drop"), std::string::npos) << r;
}

}  // namespace
}  // namespace qp::test
