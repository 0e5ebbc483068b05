// quantpipe convert --method gptq: calibration text runs through the fp32
// model, every encoder linear gets its input's Hessian and is quantized with
// GPTQ, quantpipe.json says so, and the model's outputs end closer to fp32's
// than round to nearest's at 2 bits.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/calibration.h"
#include "cli_runner.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_json.h"
#include "test_paths.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;

// A one-layer classifier: small enough to convert in a test several times over.
constexpr TinyBertSpec kOneLayer{.hidden = 64, .layers = 1, .heads = 4, .intermediate = 128, .num_labels = 2};
using nlohmann::json;

// Sentences of the tiny vocabulary's words, different on every line.
std::vector<std::string> calibration_lines(int count) {
  const std::vector<std::string>& vocab = tiny_bert_vocab();
  std::vector<std::string> words;
  for (const std::string& w : vocab)
    if (w.size() > 2 && w[0] != '[' && w[0] != '#') words.push_back(w);
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    std::string line;
    for (int j = 0; j < 6 + i % 9; ++j) line += (j ? " " : "") + words[(i * 7 + j * 13) % words.size()];
    lines.push_back(line);
  }
  return lines;
}

class ConvertGptq : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = dir_.path() / "src";
    write_tiny_bert(source_, {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .num_labels = 3});
    calibration_ = dir_.path() / "calibration.txt";
    std::ofstream out(calibration_);
    for (const std::string& line : calibration_lines(48)) out << line << "\n";
  }
  CliResult convert(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "convert", "-q", "-m", source_.string(), "-o", (dir_.path() / name).string(), "--bits", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  // Σ over the calibration lines of the squared logit difference to fp32.
  double logit_error(const std::string& name) {
    std::vector<TextInput> inputs;
    for (const std::string& line : calibration_lines(48)) inputs.push_back({line, std::nullopt});
    const Model fp32 = Model::load(source_, {.threads = 1});
    const Model quantized = Model::load(dir_.path() / name, {.threads = 1});
    const auto a = fp32.classify(inputs), b = quantized.classify(inputs);
    double total = 0;
    for (size_t i = 0; i < a.size(); ++i)
      for (size_t j = 0; j < a[i].logits.size(); ++j) total += std::pow(a[i].logits[j] - b[i].logits[j], 2);
    return total;
  }

  TempDir dir_;
  fs::path source_, calibration_;
};

TEST_F(ConvertGptq, EveryEncoderLinearIsGptqAndOutputsStayCloserToFp32) {
  const CliResult gptq = convert(
      "gptq", {"--method", "gptq", "--calibration", calibration_.string(), "--calibration-samples", "32"});
  ASSERT_EQ(gptq.exit_code, 0) << gptq;
  const CliResult rtn = convert("rtn", {"--method", "rtn"});
  ASSERT_EQ(rtn.exit_code, 0) << rtn;

  std::ifstream in(dir_.path() / "gptq/quantpipe.json");
  const json report = json::parse(in);
  EXPECT_EQ(report["plan"]["method"], "gptq");
  EXPECT_EQ(report["plan"]["calibration"]["rows"], 32);
  EXPECT_GT(report["plan"]["calibration"]["tokens"].get<int>(), 32 * 6);
  EXPECT_EQ(report["plan"]["gptq"]["damping"], 0.01);
  int gptq_tensors = 0;
  for (const json& t : report["tensors"]) {
    if (!t.contains("method")) continue;
    const std::string name = t["name"];
    const bool encoder_linear = name.find(".encoder.layer.") != std::string::npos;
    EXPECT_EQ(t["method"], encoder_linear ? "gptq" : "rtn") << name;
    gptq_tensors += t["method"] == "gptq";
  }
  EXPECT_EQ(gptq_tensors, 2 * 6);  // q, k, v, attention out, up, down in each of 2 layers

  // The activation statistics beside the model: one entry per linear input.
  std::ifstream stats_in(dir_.path() / "gptq/activation_stats.json");
  ASSERT_TRUE(stats_in) << "activation_stats.json missing";
  const json stats = json::parse(stats_in);
  EXPECT_EQ(stats["calibration"]["rows"], 32);
  EXPECT_EQ(stats["inputs"].size(), 2u * 4);  // qkv_in, attn_context, ffn_in, ffn_up per layer
  const json& qkv = stats["inputs"]["layer.0.qkv_in"];
  EXPECT_EQ(qkv["consumers"].size(), 3u);
  EXPECT_EQ(qkv["channel_absmax"].size(), 64u);
  EXPECT_EQ(qkv["rows"], report["plan"]["calibration"]["tokens"]);
  EXPECT_EQ(stats["inputs"]["layer.1.ffn_up"]["channel_absmax"].size(), 128u);
  EXPECT_GT(qkv["max"].get<double>(), qkv["min"].get<double>());
  EXPECT_FALSE(fs::exists(dir_.path() / "rtn/activation_stats.json"));

  const double gptq_error = logit_error("gptq"), rtn_error = logit_error("rtn");
  EXPECT_LT(gptq_error, 0.8 * rtn_error) << "GPTQ " << gptq_error << ", round to nearest " << rtn_error;
}

TEST_F(ConvertGptq, CalibrationDefaultsToTheCorpusAndBadChoicesAreErrors) {
  // No --calibration: the corpus shipped with quantpipe, said so in quantpipe.json.
  const CliResult none = convert("a", {"--method", "gptq"});
  ASSERT_EQ(none.exit_code, 0) << none;
  std::ifstream in(dir_.path() / "a/quantpipe.json");
  const json corpus = json::parse(in)["plan"]["calibration"];
  EXPECT_EQ(corpus["source"], "shipped corpus");
  EXPECT_EQ(corpus["rows"], 128);  // the default sample count, of 200 sentences
  EXPECT_EQ(corpus["file"], "");
  const CliResult synthetic =
      convert("s", {"--method", "gptq", "--calibration", "synthetic", "--calibration-samples", "20"});
  ASSERT_EQ(synthetic.exit_code, 0) << synthetic;
  std::ifstream synthetic_in(dir_.path() / "s/quantpipe.json");
  EXPECT_EQ(json::parse(synthetic_in)["plan"]["calibration"]["source"], "synthetic text");

  const CliResult missing = convert("b", {"--method", "gptq", "--calibration", "/nonexistent/calib.jsonl"});
  EXPECT_NE(missing.exit_code, 0) << missing;
  EXPECT_NE(missing.err.find("/nonexistent/calib.jsonl: calibration file not found"), std::string::npos)
      << missing;
  EXPECT_FALSE(fs::exists(dir_.path() / "b"));

  const CliResult rtn = convert("c", {"--method", "rtn", "--calibration", calibration_.string()});
  EXPECT_NE(rtn.exit_code, 0) << rtn;
  EXPECT_NE(rtn.err.find("--method gptq / awq and --bits auto only"), std::string::npos) << rtn;

  const CliResult method = convert("d", {"--method", "awq2"});
  EXPECT_NE(method.exit_code, 0) << method;
  EXPECT_NE(method.err.find("method 'awq2'"), std::string::npos) << method;
}

// The columns of dataset files are found by name; pairs stay pairs.
TEST_F(ConvertGptq, CalibrationReadsDatasetFilesByColumnName) {
  const fs::path tsv = dir_.path() / "pairs.tsv";
  {
    std::ofstream out(tsv);
    out << "sentence1\tsentence2\tscore\n";
    for (const std::string& line : calibration_lines(10)) out << line << "\t" << line << " again\t3.0\n";
  }
  const CliResult r = convert("pairs", {"--method", "gptq", "--calibration", tsv.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::ifstream in(dir_.path() / "pairs/quantpipe.json");
  const json report = json::parse(in);
  EXPECT_EQ(report["plan"]["calibration"]["rows"], 10);

  const fs::path no_text = dir_.path() / "no_text.jsonl";
  std::ofstream(no_text) << "{\"body\": \"hello there\"}\n";
  const CliResult bad = convert("bad", {"--method", "gptq", "--calibration", no_text.string()});
  EXPECT_NE(bad.exit_code, 0) << bad;
  EXPECT_NE(bad.err.find("no text column for calibration"), std::string::npos) << bad;
}

TEST(CalibrationTable, EveryEncoderLinearRoleNamesItsInput) {
  EXPECT_EQ(linear_input_name(TensorRole::AttnQ, 3), "layer.3.qkv_in");
  EXPECT_EQ(linear_input_name(TensorRole::AttnV, 0), "layer.0.qkv_in");
  EXPECT_EQ(linear_input_name(TensorRole::AttnOut, 1), "layer.1.attn_context");
  EXPECT_EQ(linear_input_name(TensorRole::FfnUp, 2), "layer.2.ffn_in");
  EXPECT_EQ(linear_input_name(TensorRole::FfnGate, 2), "layer.2.ffn_in");
  EXPECT_EQ(linear_input_name(TensorRole::FfnDown, 5), "layer.5.ffn_up");
  EXPECT_EQ(linear_input_name(TensorRole::Pooler, -1), std::nullopt);
  EXPECT_EQ(linear_input_name(TensorRole::HeadOut, 0), std::nullopt);
}

// Every architecture whose layers name their linear inputs calibrates all of
// its encoder linears; the calibration rows are the oracle's own pre-tokenized
// inputs (these models have no tokenizer files). BART's decoder layers and
// MobileBERT's bottlenecks name theirs differently and stay round to nearest.
TEST(ConvertGptqArchitectures, EveryEncoderLinearOfTheOracleModelsIsCalibrated) {
  QP_REQUIRE_SHARED("oracle/bert-tiny");
  const TempDir dir;
  for (const char* arch :
       {"bert", "deberta-v2", "distilbert", "electra", "modernbert", "mpnet", "roberta", "xlm-roberta"}) {
    const fs::path source = shared_dir() / "oracle" / (std::string(arch) + "-tiny");
    const fs::path calibration = dir.path() / (std::string(arch) + ".jsonl");
    write_oracle_calibration(source, calibration);
    const fs::path out = dir.path() / arch;
    const CliResult r =
        run_cli({"convert", "-q", "-m", source.string(), "-o", out.string(), "--bits", "4", "--group-size",
                 "32", "--method", "gptq", "--calibration", calibration.string()});
    ASSERT_EQ(r.exit_code, 0) << arch << ": " << r;
    std::ifstream report_in(out / "quantpipe.json");
    const json report = json::parse(report_in);
    int gptq = 0;
    for (const json& t : report["tensors"]) {
      if (!t.contains("method")) continue;
      const std::string name = t["name"];
      const bool embedding = name.find("embed") != std::string::npos;
      EXPECT_EQ(t["method"], embedding ? "rtn" : "gptq") << arch << " " << name;
      gptq += t["method"] == "gptq";
    }
    EXPECT_GE(gptq, 4) << arch;
  }
}

// Without --method: GPTQ (on the shipped corpus) at 3 bits or fewer and for
// ternary, round to nearest at 4 bits and more.
TEST(ConvertDefaultMethod, GptqAtThreeBitsOrFewerRoundToNearestAbove) {
  TempDir dir;
  const fs::path source = dir.path() / "src";
  write_tiny_bert(source, kOneLayer);
  for (const auto& [bits, method] : std::vector<std::pair<std::string, std::string>>{
           {"2", "gptq"}, {"3", "gptq"}, {"ternary", "gptq"}, {"4", "rtn"}, {"8", "rtn"}}) {
    const fs::path out = dir.path() / ("q" + bits);
    const CliResult r = run_cli({"convert", "-m", source.string(), "-o", out.string(), "--bits", bits});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find(method + " by default"), std::string::npos) << r;
    std::ifstream in(out / "quantpipe.json");
    const json report = json::parse(in);
    EXPECT_EQ(report["plan"]["method"], method) << bits;
    EXPECT_EQ(report["plan"]["calibration"].is_null(), method == "rtn") << bits;
  }
}

// --calibration NAME: a dataset of the pipeline configs, loaded as the
// pipeline loads it; a name that is neither a file nor a dataset is refused.
TEST(ConvertCalibrationName, ADatasetOfTheConfigIsTheCalibrationText) {
  TempDir dir;
  const fs::path source = dir.path() / "src";
  write_tiny_bert(source, kOneLayer);
  {
    std::ofstream rows(dir.path() / "calib.jsonl");
    for (const std::string& line : calibration_lines(10)) rows << json({{"text", line}}).dump() << "\n";
    std::ofstream(dir.path() / "d.yaml")
        << "models:\n  - {name: m, path: src, task: classification, quantization: {bits: 4}}\n"
           "datasets:\n  - {name: calib, provider: local, path: calib.jsonl, columns: {label: ''}, "
           "metrics: [accuracy]}\n";
  }
  const std::string config = (dir.path() / "d.yaml").string();
  const CliResult r = run_cli({"convert", "-m", source.string(), "-o", (dir.path() / "q").string(), "--bits",
                               "2", "--calibration", "calib", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("calibrating on dataset calib"), std::string::npos) << r;
  std::ifstream in(dir.path() / "q/quantpipe.json");
  const json calibration = json::parse(in)["plan"]["calibration"];
  EXPECT_EQ(calibration["source"], "dataset calib");
  EXPECT_EQ(calibration["rows"], 10);

  const CliResult unknown = run_cli({"convert", "-m", source.string(), "-o", (dir.path() / "u").string(),
                                     "--bits", "2", "--calibration", "nowhere", "--config", config});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("--calibration nowhere: neither a file nor a dataset name in"),
            std::string::npos)
      << unknown;
  EXPECT_FALSE(fs::exists(dir.path() / "u"));
}

}  // namespace
}  // namespace qp::test
