// method: gptq in pipeline configs: the calibration chain (the model's
// calibration dataset → its first benchmark dataset → the shipped corpus) is
// taken in that order, logged, and stored in quantpipe.json; a GPTQ variant
// sits beside the round-to-nearest one of the same scheme.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in, nullptr, false);
}

class PipelineGptq : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(dir_.path() / "classifier",
                    {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
    const char* texts[] = {"the cat sat on the mat",    "a dog runs in the park", "we went to the city",
                           "the man is playing a game", "it is a good day",       "she reads a book"};
    std::ofstream labelled(dir_.path() / "labelled.jsonl");
    for (int i = 0; i < 6; ++i)
      labelled << json({{"text", texts[i]}, {"label", "LABEL_" + std::to_string(i % 3)}}).dump() << "\n";
    std::ofstream calibration(dir_.path() / "calibration.jsonl");
    for (int i = 0; i < 20; ++i)
      calibration << json({{"text", std::string(texts[i % 6]) + " and " + texts[(i * 5 + 1) % 6]}}).dump()
                  << "\n";
  }

  CliResult run(const std::string& model_extra, const std::string& benchmarks) {
    std::ofstream(dir_.path() / "p.yaml")
        << "models:\n  - name: classifier\n    path: classifier\n    task: classification\n"
        << model_extra
        << "    quantization:\n"
           "      - {bits: 2, method: gptq, min_speedup: 0, max_accuracy_drop: 1, min_agreement: 0}\n"
           "      - {bits: 2, method: rtn, min_speedup: 0, max_accuracy_drop: 1, min_agreement: 0}\n"
        << benchmarks
        << "datasets:\n"
           "  - {name: labelled, provider: local, path: labelled.jsonl, metrics: [accuracy]}\n"
           "  - {name: calib, provider: local, path: calibration.jsonl, columns: {label: ''}, metrics: "
           "[accuracy]}\n";
    return run_cli({"pipeline", "-q", "--config", (dir_.path() / "p.yaml").string(), "--workspace",
                    ws().string(), "-t", "1"});
  }
  fs::path ws() const { return dir_.path() / "ws"; }
  json calibration_of(const std::string& quant) {
    return read_json(ws() / "models" / ("classifier_" + quant) / "quantpipe.json")["plan"]["calibration"];
  }

  TempDir dir_;
};

TEST_F(PipelineGptq, CalibrationDatasetFromTheConfig) {
  const CliResult r =
      run("    calibration: {dataset: calib, samples: 12, max_length: 32}\n", "    benchmarks: [labelled]\n");
  ASSERT_EQ(r.exit_code, 0) << r;
  const json c = calibration_of("q2_affine_g64_gptq");
  EXPECT_EQ(c["source"], "calibration dataset calib");
  EXPECT_EQ(c["rows"], 12);
  EXPECT_EQ(c["max_length"], 32);
  // The round-to-nearest twin has no calibration and its own directory.
  EXPECT_TRUE(
      read_json(ws() / "models/classifier_q2_affine_g64/quantpipe.json")["plan"]["calibration"].is_null());
  EXPECT_EQ(read_json(ws() / "models/classifier_q2_affine_g64_gptq/quantpipe.json")["plan"]["method"],
            "gptq");
  std::ifstream log(ws() / "logs/conversion_classifier.log");
  const std::string text(std::istreambuf_iterator<char>(log), {});
  EXPECT_NE(text.find("calibrating on calibration dataset calib (12 rows)"), std::string::npos) << text;
  EXPECT_NE(text.find("--method gptq --calibration calib"), std::string::npos) << text;
}

TEST_F(PipelineGptq, FirstBenchmarkWhenNoCalibrationIsConfigured) {
  const CliResult r = run("", "    benchmarks: [labelled]\n");
  ASSERT_EQ(r.exit_code, 0) << r;
  const json c = calibration_of("q2_affine_g64_gptq");
  EXPECT_EQ(c["source"], "first benchmark dataset labelled");
  EXPECT_EQ(c["rows"], 6);  // all there is (the default asks for 256)
}

TEST_F(PipelineGptq, ShippedCorpusWithoutAnyDataset) {
  const CliResult r = run("", "");
  ASSERT_EQ(r.exit_code, 0) << r;
  const json c = calibration_of("q2_affine_g64_gptq");
  EXPECT_EQ(c["source"], "shipped corpus");
  EXPECT_EQ(c["rows"], 200);  // all of it (the default asks for 256)
}

// A calibration dataset that cannot be read gives way to the corpus, and says why.
TEST_F(PipelineGptq, UnreadableCalibrationDatasetFallsBackToTheCorpus) {
  fs::remove(dir_.path() / "calibration.jsonl");
  const CliResult r = run("    calibration: {dataset: calib}\n", "");
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string source = calibration_of("q2_affine_g64_gptq")["source"];
  EXPECT_EQ(source.rfind("shipped corpus (calibration dataset calib unavailable: ", 0), 0u) << source;
  EXPECT_NE(source.find("calibration.jsonl"), std::string::npos) << source;
}

TEST_F(PipelineGptq, UnknownCalibrationDatasetOrMethodIsAConfigError) {
  const CliResult unknown = run("    calibration: {dataset: nowhere}\n", "");
  EXPECT_NE(unknown.exit_code, 0) << unknown;
  EXPECT_NE(unknown.err.find("unknown dataset 'nowhere'"), std::string::npos) << unknown;
  std::ofstream(dir_.path() / "bad.yaml")
      << "models:\n  - name: m\n    path: classifier\n    task: classification\n"
         "    quantization: {bits: 4, method: awq9}\n";
  const CliResult method = run_cli({"pipeline", "--dry-run", "--config", (dir_.path() / "bad.yaml").string(),
                                    "--workspace", ws().string()});
  EXPECT_NE(method.exit_code, 0) << method;
  EXPECT_NE(method.err.find("awq9"), std::string::npos) << method;
}

}  // namespace
}  // namespace qp::test

namespace qp::test {
namespace {

// method: awq calibrates like GPTQ, names the variant <scheme>_awq and
// stores the scales it chose; bits: auto with awq is refused.
TEST(PipelineAwq, AwqVariantCalibratesAndRecordsItsScales) {
  TempDir dir;
  write_tiny_bert(dir.path() / "classifier",
                  {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
  std::ofstream(dir.path() / "p.yaml")
      << "models:\n  - name: classifier\n    path: classifier\n    task: classification\n"
         "    quantization:\n      - {bits: 2, method: awq, min_speedup: 0, max_accuracy_drop: 1, "
         "min_agreement: 0}\n";
  const fs::path ws = dir.path() / "ws";
  const CliResult r = run_cli({"pipeline", "-q", "--config", (dir.path() / "p.yaml").string(), "--workspace",
                               ws.string(), "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json report = read_json(ws / "models/classifier_q2_affine_g64_awq/quantpipe.json");
  EXPECT_EQ(report["plan"]["method"], "awq");
  EXPECT_EQ(report["plan"]["calibration"]["source"], "shipped corpus");
  EXPECT_EQ(report["plan"]["awq"]["folds"].size(), 2u);

  std::ofstream(dir.path() / "bad.yaml")
      << "models:\n  - name: classifier\n    path: classifier\n    task: classification\n"
         "    quantization: {bits: auto, target_size_mb: 1, method: awq}\n";
  const CliResult bad = run_cli(
      {"pipeline", "--dry-run", "--config", (dir.path() / "bad.yaml").string(), "--workspace", ws.string()});
  EXPECT_NE(bad.exit_code, 0) << bad;
  EXPECT_NE(bad.err.find("not combined yet"), std::string::npos) << bad;
}

}  // namespace
}  // namespace qp::test
