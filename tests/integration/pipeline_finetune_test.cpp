// `finetune:` in pipeline configs: a quantization whose drop exceeds
// qat_threshold is fine-tuned on text it is not judged on and evaluated
// again; one within the threshold is left alone; a rerun keeps the
// fine-tuned model and its verdict; a benchmark named as fine-tuning text is
// a config error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class PipelineFinetune : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(
        dir_.path() / "embedder",
        {.hidden = 64, .layers = 2, .heads = 4, .intermediate = 128, .sentence_transformer = true});
    // Gold scores are the fp32 model's own cosines: its Spearman is 1, and
    // every pair the quantized model orders differently is drop.
    std::vector<std::string> words;
    for (const std::string& w : tiny_bert_vocab())
      if (w.size() > 2 && w[0] != '[' && w[0] != '#') words.push_back(w);
    auto sentence = [&](int i) {
      std::string text;
      for (int j = 0; j < 4 + i % 7; ++j) text += (j ? " " : "") + words[(i * 11 + j * 17) % words.size()];
      return text;
    };
    const Model fp32 = Model::load(dir_.path() / "embedder", {.threads = 1});
    std::ofstream pairs(dir_.path() / "pairs.jsonl");
    for (int i = 0; i < 60; ++i) {
      const auto e = fp32.embed({{sentence(i)}, {sentence(i * 3 + 1)}});
      double dot = 0;
      for (size_t c = 0; c < e[0].size(); ++c) dot += e[0][c] * e[1][c];
      pairs << json({{"text", sentence(i)}, {"text_pair", sentence(i * 3 + 1)}, {"score", dot}}).dump()
            << "\n";
    }
  }

  CliResult run(const std::string& finetune, const std::vector<std::string>& extra = {}) {
    std::ofstream(dir_.path() / "p.yaml")
        << "models:\n  - name: embedder\n    path: embedder\n    task: embedding\n"
        << "    benchmarks: [pairs]\n"
        << "    quantization:\n"
           "      - {bits: 2, method: rtn, min_speedup: 0, min_cosine: 0, finetune: "
        << finetune << "}\n"
        << "datasets:\n  - {name: pairs, provider: local, path: pairs.jsonl, metrics: [spearman], columns: "
           "{text: text, text_pair: text_pair, label: score}}\n";
    std::vector<std::string> args = {
        "pipeline",    "-q",          "--config", (dir_.path() / "p.yaml").string(),
        "--workspace", ws().string(), "-t",       "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  fs::path ws() const { return dir_.path() / "ws"; }
  fs::path model_dir() const { return ws() / "models/embedder_q2_affine_g64"; }
  json read(const fs::path& path) const {
    std::ifstream in(path);
    return json::parse(in, nullptr, false);
  }
  double drop() const {
    return read(ws() / "test_results/embedder_q2_affine_g64_results.json")["datasets"]["pairs"]["comparison"]
                                                                          ["accuracy_drop_points"];
  }
  std::string conversion_log() const {
    std::ifstream in(ws() / "logs/conversion_embedder.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  TempDir dir_;
};

TEST_F(PipelineFinetune, ADropAboveTheThresholdIsFineTunedAndEvaluatedAgain) {
  const CliResult first = run("{qat_threshold: 0.0, epochs: 2, samples: 200, learning_rate: 3e-4}");
  ASSERT_NE(first.exit_code, 1) << first;
  const json plan = read(model_dir() / "quantpipe.json")["plan"];
  ASSERT_FALSE(plan["finetune"].is_null()) << "no drop above 0 points? drop " << drop();
  EXPECT_EQ(plan["finetune"]["method"], "qat_distillation");
  EXPECT_EQ(plan["finetune"]["data"]["source"], "shipped corpus");
  EXPECT_EQ(plan["finetune"]["epochs"], 2);
  const std::string log = conversion_log();
  EXPECT_NE(log.find("fine-tuning on the shipped corpus (2 epochs"), std::string::npos) << log;
  EXPECT_NE(log.find("quantpipe finetune --quantized"), std::string::npos) << log;
  // Evaluated before fine-tuning and again after it.
  const size_t first_eval = log.find("start eval embedder");
  ASSERT_NE(first_eval, std::string::npos) << log;
  EXPECT_LT(first_eval, log.find("fine-tuning on the"));
  EXPECT_GT(log.rfind("start eval embedder"), log.find("fine-tuning on the")) << log;
  const double drop_after = drop();

  // The dual output: the fp16 model beside the packed one, its compression in its metadata.
  std::ifstream fp16(model_dir() / "fp16/model.safetensors", std::ios::binary);
  ASSERT_TRUE(fp16.good());
  uint64_t header_bytes = 0;
  fp16.read(reinterpret_cast<char*>(&header_bytes), 8);
  std::string header(header_bytes, '\0');
  fp16.read(header.data(), static_cast<std::streamsize>(header_bytes));
  const json fp16_metadata = json::parse(header)["__metadata__"];
  EXPECT_EQ(fp16_metadata["quantpipe.method"], "rtn+qat");
  EXPECT_EQ(fp16_metadata["quantpipe.linear_scheme"], "q2_affine_g64");
  EXPECT_GT(std::stod(fp16_metadata["quantpipe.compression_ratio"].get<std::string>()), 1.0);
  EXPECT_TRUE(fp16_metadata.contains("quantpipe.sparsity"));

  // The 19 compression metrics, one JSON line per evaluation, and their report section.
  std::ifstream metrics_file(ws() / "results/embedder_metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics_file, line));
  const json metrics = json::parse(line);
  int count = 0;
  for (const char* group : {"before_compression", "compression", "after_compression", "finetune"})
    count += static_cast<int>(metrics[group].size());
  EXPECT_EQ(count, 19) << metrics.dump(1);
  EXPECT_EQ(metrics["compression"]["method"], "rtn+qat");
  EXPECT_EQ(metrics["compression"]["bits"], 2);
  EXPECT_EQ(metrics["finetune"]["epochs"], 2);
  EXPECT_EQ(metrics["finetune"]["metric_after"],
            read(ws() / "test_results/embedder_q2_affine_g64_results.json")["datasets"]["pairs"]["comparison"]
                                                                           ["quantized"]["primary"]);
  EXPECT_NE(metrics["summary"].get<std::string>().find("fine-tuned"), std::string::npos)
      << metrics["summary"];
  std::ifstream report_file(ws() / "report.md");
  const std::string report(std::istreambuf_iterator<char>(report_file), {});
  EXPECT_NE(report.find("Compression metrics"), std::string::npos);
  EXPECT_NE(report.find("rtn+qat"), std::string::npos);

  // A rerun keeps the fine-tuned model, its result and its exit status.
  const std::string weights = [&] {
    std::ifstream in(model_dir() / "model.safetensors", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  const CliResult again = run("{qat_threshold: 0.0, epochs: 2, samples: 200, learning_rate: 3e-4}");
  EXPECT_EQ(again.exit_code, first.exit_code) << again;
  EXPECT_NE(again.out.find("0 done"), std::string::npos) << again;
  EXPECT_EQ(drop(), drop_after);
  std::ifstream in(model_dir() / "model.safetensors", std::ios::binary);
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(in), {}) == weights);
}

TEST_F(PipelineFinetune, WithinTheThresholdNothingIsFineTuned) {
  const CliResult r = run("{qat_threshold: 1.0}");
  ASSERT_NE(r.exit_code, 1) << r;
  EXPECT_TRUE(read(model_dir() / "quantpipe.json")["plan"]["finetune"].is_null());
  EXPECT_EQ(conversion_log().find("fine-tuning on"), std::string::npos);
}

TEST_F(PipelineFinetune, ABenchmarkAsFineTuningTextIsAConfigError) {
  const CliResult r = run("{dataset: pairs}", {"--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("finetune.dataset pairs is a benchmark of model embedder"), std::string::npos) << r;
  const CliResult bad = run("{qat_threshold: 5}", {"--dry-run"});
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_NE(bad.err.find("qat_threshold"), std::string::npos) << bad;
}

}  // namespace
}  // namespace qp::test
