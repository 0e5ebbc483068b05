// quantpipe finetune on tiny models made by code: the converted directory is
// replaced by the fine-tuned one (same plan, new codes), the student ends
// closer to its teacher than it started, the run is reproducible from its
// seed, and a failed run leaves the earlier directory as it was.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "api/convert.h"
#include "cli_runner.h"
#include "core/cpu_isa.h"
#include "eval/datasets.h"
#include "eval/metrics.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_json.h"
#include "test_paths.h"
#include "train/finetune_model.h"
#include "train/quantized_plan.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Sentences of the tiny vocabulary's words, different on every line.
fs::path write_text(const fs::path& path, int count) {
  std::vector<std::string> words;
  for (const std::string& w : tiny_bert_vocab())
    if (w.size() > 2 && w[0] != '[' && w[0] != '#') words.push_back(w);
  std::ofstream out(path);
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < 5 + i % 11; ++j)
      out << (j ? " " : "") << words[(i * 7 + j * 13 + i / 3) % words.size()];
    out << "\n";
  }
  return path;
}

class Finetune : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    source_ = dir_.path() / "src";
    const bool embedding = GetParam();
    write_tiny_bert(source_, {.hidden = 64,
                              .layers = 2,
                              .heads = 4,
                              .intermediate = 128,
                              .num_labels = embedding ? 0 : 3,
                              .sentence_transformer = embedding});
    text_ = write_text(dir_.path() / "text.txt", 160);
  }
  fs::path convert_ternary(const std::string& name) {
    const fs::path out = dir_.path() / name;
    quant::ConvertOptions options;
    options.plan.linear = quant::parse_scheme("ternary_g32");
    options.plan.embedding = quant::parse_scheme("q8_affine_g32");
    qp::convert(source_, out, options);
    return out;
  }
  train::FinetuneModelOptions options() const {
    train::FinetuneModelOptions o;
    o.train.epochs = 3;
    o.train.batch_size = 16;
    o.train.adamw.lr = 3e-4f;
    o.data.file = text_;
    o.data.samples = 160;
    o.threads = 2;
    return o;
  }
  TempDir dir_;
  fs::path source_, text_;
};

TEST_P(Finetune, RecoversTowardsTheTeacherAndRewritesTheDirectory) {
  const fs::path quantized = convert_ternary("q");
  const std::string before = file_bytes(quantized / "model.safetensors");
  const train::FinetuneModelReport report = train::finetune_quantized(quantized, options());

  const auto& history = report.result.history;
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(report.result.metric_name, GetParam() ? "teacher_cosine" : "teacher_agreement");
  // The distillation loss falls, and the held-apart rows end closer to the teacher.
  EXPECT_LT(history.back().train.total, history[1].train.total);
  EXPECT_LT(history[report.result.best_epoch].validation.total, history[0].validation.total);
  EXPECT_GE(history[report.result.best_epoch].metric, history[0].metric);
  EXPECT_GT(report.validation_rows, 0);

  // Same plan, new codes; quantpipe.json and the history file say what was done.
  EXPECT_TRUE(file_bytes(quantized / "model.safetensors") != before) << "the codes did not change";
  const train::QuantizedPlan plan = train::read_quantized_plan(quantized);
  const nlohmann::json j = read_json(quantized / "quantpipe.json");
  const nlohmann::json& finetune = j["plan"]["finetune"];
  EXPECT_EQ(finetune["method"], "qat_distillation");
  EXPECT_EQ(finetune["history"].size(), 4u);
  EXPECT_EQ(finetune["best_epoch"], report.result.best_epoch);
  int quantized_tensors = 0;
  for (const auto& [name, scheme] : plan.tensors)
    if (scheme) {
      ++quantized_tensors;
      EXPECT_TRUE(name.find("LayerNorm") == std::string::npos) << name;
    }
  EXPECT_GT(quantized_tensors, 8);
  std::ifstream lines(quantized / "finetune_history.jsonl");
  int count = 0;
  for (std::string line; std::getline(lines, line);) ++count;
  EXPECT_EQ(count, 4);

  // The fine-tuned model loads and runs in the engine.
  const Model model = Model::load(quantized, {.threads = 1});
  if (GetParam())
    EXPECT_EQ(model.embed({{"the cat sat"}}).size(), 1u);
  else
    EXPECT_EQ(model.classify({{"the cat sat"}}).size(), 1u);
}

TEST_P(Finetune, TheSeedMakesTheSameModel) {
  auto short_run = options();
  short_run.train.epochs = 1;
  const fs::path a = convert_ternary("a"), b = convert_ternary("b");
  train::finetune_quantized(a, short_run);
  train::finetune_quantized(b, short_run);
  EXPECT_TRUE(file_bytes(a / "model.safetensors") == file_bytes(b / "model.safetensors"));
}

TEST_P(Finetune, AFailedRunLeavesTheDirectoryAsItWas) {
  const fs::path quantized = convert_ternary("q");
  const std::string before = file_bytes(quantized / "model.safetensors");
  const std::string json_before = file_bytes(quantized / "quantpipe.json");
  auto broken = options();
  broken.data.file = dir_.path() / "missing.txt";
  EXPECT_THROW(train::finetune_quantized(quantized, broken), std::exception);
  auto diverging = options();
  diverging.train.adamw.lr = 1e30f;  // the loss turns infinite: refused, nothing written
  diverging.train.adamw.max_grad_norm = 0.0f;
  EXPECT_THROW(train::finetune_quantized(quantized, diverging), std::exception);
  EXPECT_TRUE(file_bytes(quantized / "model.safetensors") == before);
  EXPECT_TRUE(file_bytes(quantized / "quantpipe.json") == json_before);
  EXPECT_FALSE(fs::exists(quantized / "finetune_history.jsonl"));
}

INSTANTIATE_TEST_SUITE_P(Heads, Finetune, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Embedding" : "Classifier"; });

TEST(FinetuneCli, RunsAndRefusesWhatItCannotUse) {
  TempDir dir;
  const fs::path source = dir.path() / "src";
  write_tiny_bert(source, {.hidden = 32, .layers = 1, .heads = 2, .intermediate = 64, .num_labels = 2});
  const fs::path text = write_text(dir.path() / "text.txt", 40);
  CliResult convert =
      run_cli({"convert", "-q", "-m", source.string(), "-o", (dir.path() / "q").string(), "--bits", "ternary",
               "--group-size", "32", "--method", "rtn", "--embedding", "keep"});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  const fs::path history = dir.path() / "history.jsonl";
  CliResult run = run_cli({"finetune", "-q", (dir.path() / "q").string(), "--data", text.string(), "--epochs",
                           "1", "--samples", "40", "--threads", "1", "--history", history.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("teacher_agreement"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("epoch 1:"), std::string::npos) << run.err;
  std::ifstream lines(history);
  std::string first;
  ASSERT_TRUE(std::getline(lines, first));
  EXPECT_EQ(nlohmann::json::parse(first)["epoch"], 0);

  CliResult not_converted = run_cli({"finetune", "-q", source.string(), "--data", text.string()});
  EXPECT_NE(not_converted.exit_code, 0);
  EXPECT_NE(not_converted.err.find("quantpipe.json: not found"), std::string::npos) << not_converted.err;
  CliResult no_data = run_cli(
      {"finetune", "-q", (dir.path() / "q").string(), "--data", (dir.path() / "absent.jsonl").string()});
  EXPECT_NE(no_data.exit_code, 0);
  EXPECT_NE(no_data.err.find("absent.jsonl"), std::string::npos) << no_data.err;
}

// A short fine-tuning of the real genre classifier at ternary (one epoch of
// the shipped corpus, seconds): it agrees with fp32 on more genre rows than
// round to nearest alone, and every kernel path gives it the scalar
// reference's labels (as FastPathAgreement checks for the other formats).
TEST(FinetuneShared, GenreTernaryRecoversAndAgreesAcrossIsas) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const fs::path source = shared_dir() / "models/minilm-l6-genre";
  TempDir dir;
  quant::ConvertOptions convert_options;
  convert_options.plan.linear = quant::parse_scheme("ternary_g64");
  qp::convert(source, dir.path() / "q", convert_options);

  auto examples = read_jsonl_dataset(shared_dir() / "data/genre/dev_a.jsonl", ColumnMapping{});
  examples.resize(160);
  std::vector<TextInput> inputs;
  for (const auto& e : examples) inputs.push_back(e.input);
  const auto fp32 = Model::load(source, {.threads = 2}).classify(inputs, {32, 0});
  auto agreement = [&](const Model& model) {
    const auto out = model.classify(inputs, {32, 0});
    int same = 0;
    for (size_t i = 0; i < out.size(); ++i) same += out[i].label == fp32[i].label;
    return static_cast<double>(same) / static_cast<double>(out.size());
  };
  const double before = agreement(Model::load(dir.path() / "q", {.threads = 2}));

  train::FinetuneModelOptions options;
  options.train.epochs = 1;
  options.data.file = "corpus";
  options.data.samples = 200;
  options.threads = 2;
  train::finetune_quantized(dir.path() / "q", options);
  const Model best = Model::load(dir.path() / "q", {.threads = 2});
  const double after = agreement(best);
  std::cout << "[ finetune ] genre ternary agreement with fp32 on 160 rows: rtn " << before << ", fine-tuned "
            << after << "\n";
  EXPECT_GT(after, before + 0.05);
  if (detected_isa() == Isa::Scalar) return;
  const auto fast = best.classify(inputs, {32, 0});
  const Isa previous = active_isa();
  set_isa_cap(Isa::Scalar);
  const Model reference = Model::load(dir.path() / "q", {.threads = 2});
  set_isa_cap(previous);
  const auto slow = reference.classify(inputs, {32, 0});
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(fast[i].label, slow[i].label) << i;
    EXPECT_GE(cosine_similarity(fast[i].logits, slow[i].logits), 0.9999) << i;
  }
}

// The full run behind the measured numbers (docs/TRAINING.md), minutes
// long, so only with QUANTPIPE_FULL_EVAL=1: genre ternary fine-tuned for 3
// epochs on MNLI and STS-B sentences that are not in genre dev_a, then held
// on all of dev_a to issue 18's goal (accuracy ≥ 0.79) and to the bar
// QuantFidelity holds 4-bit models to (logit cosine ≥ 0.99, drop ≤ 2 points).
TEST(FinetuneShared, GenreTernaryFullRunMeetsTheGoal) {
  const char* full = std::getenv("QUANTPIPE_FULL_EVAL");
  if (!full || std::string(full) != "1")
    GTEST_SKIP() << "set QUANTPIPE_FULL_EVAL=1 to fine-tune genre ternary on 5k sentences (about 8 minutes)";
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const fs::path source = shared_dir() / "models/minilm-l6-genre";
  const auto genre = read_jsonl_dataset(shared_dir() / "data/genre/dev_a.jsonl", ColumnMapping{});
  std::set<std::string> judged;
  for (const auto& e : genre) judged.insert(e.input.text);
  std::vector<TextInput> text;
  auto add = [&](const std::string& t) {
    if (!judged.count(t)) text.push_back({t});
  };
  for (const auto& e : read_jsonl_dataset(shared_dir() / "data/mnli/dev_a.jsonl",
                                          ColumnMapping{"premise", "hypothesis", "label"})) {
    add(e.input.text);
    if (e.input.text_pair) add(*e.input.text_pair);
  }
  for (const auto& e : read_tsv_dataset(shared_dir() / "data/stsb/dev_a.tsv",
                                        ColumnMapping{"sentence1", "sentence2", "score"})) {
    add(e.input.text);
    if (e.input.text_pair) add(*e.input.text_pair);
  }
  TempDir dir;
  quant::ConvertOptions convert_options;
  convert_options.plan.linear = quant::parse_scheme("ternary_g64");
  qp::convert(source, dir.path() / "q", convert_options);
  train::FinetuneModelOptions options;
  options.data.texts = text;
  options.data.samples = 6000;
  options.threads = 2;
  train::finetune_quantized(dir.path() / "q", options);

  std::vector<TextInput> inputs;
  for (const auto& e : genre) inputs.push_back(e.input);
  const auto fp32 = Model::load(source, {.threads = 2}).classify(inputs, {32, 0});
  const auto tuned = Model::load(dir.path() / "q", {.threads = 2}).classify(inputs, {32, 0});
  double cosine_sum = 0.0;
  int right_fp32 = 0, right_tuned = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    cosine_sum += cosine_similarity(tuned[i].logits, fp32[i].logits);
    right_fp32 += fp32[i].label == genre[i].label;
    right_tuned += tuned[i].label == genre[i].label;
  }
  const double n = static_cast<double>(inputs.size());
  std::cout << "[ finetune ] genre ternary, " << text.size() << " sentences × 3 epochs: accuracy "
            << right_tuned / n << " (fp32 " << right_fp32 / n << "), mean logit cosine " << cosine_sum / n
            << "\n";
  EXPECT_GE(right_tuned / n, 0.79);
  EXPECT_GE(cosine_sum / n, 0.99);
  EXPECT_LE((right_fp32 - right_tuned) / n, 0.02);
}

}  // namespace
}  // namespace qp::test
