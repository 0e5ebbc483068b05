// Fidelity of truly quantized models: each real model in ../shared is converted
// with the library (convert_model), loaded back with qp::Model::load, and run on
// the same inputs as the fp32 original. Measured: mean cosine of the outputs
// (logits or embeddings) against fp32, label agreement, and the task metric of
// both (accuracy, or STS Spearman) with its drop.
//
// The quantized weights run on the scalar reference kernel, so by default the
// tests use the first rows of each data set; QUANTPIPE_FULL_EVAL=1 runs all rows
// and also measures (without thresholds) 3-bit, 2-bit and ternary conversions.
// bench/quant_fidelity.sh runs the full version.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "eval/datasets.h"
#include "eval/metrics.h"
#include "quant/convert.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

bool full_eval() {
  const char* env = std::getenv("QUANTPIPE_FULL_EVAL");
  return env && std::string(env) == "1";
}

// An evaluation set: classification inputs with gold labels, or STS pairs with
// gold scores (inputs then hold every first sentence, then every second one).
struct EvalSet {
  std::string name;
  std::string model;
  bool sts = false;
  std::vector<TextInput> inputs;
  std::vector<std::string> gold_labels;
  std::vector<double> gold_scores;

  size_t rows() const { return sts ? gold_scores.size() : gold_labels.size(); }
};

EvalSet load_eval_set(const std::string& name, size_t limit) {
  const fs::path data = test::shared_dir() / "data";
  EvalSet set;
  set.name = name;
  if (name == "sts") {
    set.model = "minilm-l6-sts";
    set.sts = true;
    auto examples = read_tsv_dataset(data / "stsb/dev_a.tsv", {"sentence1", "sentence2", "score"});
    if (examples.size() > limit) examples.resize(limit);
    for (const LabelledExample& e : examples) set.inputs.push_back({e.input.text, std::nullopt});
    for (const LabelledExample& e : examples) set.inputs.push_back({*e.input.text_pair, std::nullopt});
    for (const LabelledExample& e : examples) set.gold_scores.push_back(e.score);
    return set;
  }
  const bool genre = name == "genre";
  set.model = genre ? "minilm-l6-genre" : "minilm-l6-nli";
  auto examples = genre ? read_jsonl_dataset(data / "genre/dev_a.jsonl", {"text", "", "label"})
                        : read_jsonl_dataset(data / "mnli/dev_a.jsonl", {"premise", "hypothesis", "label"});
  if (examples.size() > limit) examples.resize(limit);
  for (const LabelledExample& e : examples) {
    set.inputs.push_back(e.input);
    set.gold_labels.push_back(e.label);
  }
  return set;
}

// One model's outputs on a set: logits (or embeddings), predicted labels, metric.
struct Outputs {
  std::vector<std::vector<float>> vectors;
  std::vector<std::string> labels;
  double metric = 0;
};

Outputs run_model(const Model& model, const EvalSet& set) {
  const RunOptions run{32, 0};
  Outputs out;
  if (set.sts) {
    out.vectors = model.embed(set.inputs, run);
    const size_t n = set.rows();
    std::vector<double> similarity;
    for (size_t i = 0; i < n; ++i)
      similarity.push_back(cosine_similarity(out.vectors[i], out.vectors[n + i]));
    out.metric = spearman(similarity, set.gold_scores);
    return out;
  }
  for (const Classification& c : model.classify(set.inputs, run)) {
    out.vectors.push_back(c.logits);
    out.labels.push_back(c.label);
  }
  out.metric = accuracy(out.labels, set.gold_labels);
  return out;
}

// fp32 outputs, computed once per set and size for the whole test program.
const Outputs& reference_outputs(const EvalSet& set) {
  static std::map<std::string, Outputs> cache;
  const std::string key = set.name + "/" + std::to_string(set.rows());
  auto it = cache.find(key);
  if (it == cache.end())
    it =
        cache.emplace(key, run_model(Model::load(test::shared_dir() / "models" / set.model, {0}), set)).first;
  return it->second;
}

struct Fidelity {
  size_t rows = 0;
  double mean_cosine = 0;
  double agreement = 1;  // classification only
  double metric_fp32 = 0, metric_quant = 0;
  double drop() const { return metric_fp32 - metric_quant; }
};

// Converts the set's model with `linear` as the main scheme (embeddings stay the
// default q8_affine_g64), runs it, and compares with fp32; prints one line.
Fidelity measure(const EvalSet& set, const std::string& linear) {
  const test::TempDir dir;
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme(linear);
  const fs::path out = dir.path() / "quantized";
  quant::convert_model(test::shared_dir() / "models" / set.model, out, options);
  const Outputs quantized = run_model(Model::load(out, {0}), set);
  const Outputs& reference = reference_outputs(set);

  Fidelity f;
  f.rows = set.rows();
  f.metric_fp32 = reference.metric;
  f.metric_quant = quantized.metric;
  EXPECT_EQ(quantized.vectors.size(), reference.vectors.size());
  const size_t n = std::min(quantized.vectors.size(), reference.vectors.size());
  double cosine_sum = 0;
  for (size_t i = 0; i < n; ++i) cosine_sum += cosine_similarity(reference.vectors[i], quantized.vectors[i]);
  f.mean_cosine = n ? cosine_sum / static_cast<double>(n) : 0;
  if (!set.sts) {
    size_t same = 0;
    for (size_t i = 0; i < n; ++i) same += reference.labels[i] == quantized.labels[i];
    f.agreement = n ? static_cast<double>(same) / static_cast<double>(n) : 0;
  }

  char line[256];
  if (set.sts)
    std::snprintf(line, sizeof line,
                  "[ fidelity ] %-5s %-14s n=%zu: cos %.5f spearman %.4f→%.4f (drop %+.4f)", set.name.c_str(),
                  linear.c_str(), f.rows, f.mean_cosine, f.metric_fp32, f.metric_quant, f.drop());
  else
    std::snprintf(line, sizeof line,
                  "[ fidelity ] %-5s %-14s n=%zu: cos %.5f agree %.3f acc %.4f→%.4f (drop %+.2f points)",
                  set.name.c_str(), linear.c_str(), f.rows, f.mean_cosine, f.agreement, f.metric_fp32,
                  f.metric_quant, 100 * f.drop());
  std::cout << line << std::endl;
  return f;
}

// Default subset sizes (each test stays near 30 s on 2 cores; NLI pairs are the
// longest inputs); all rows with QUANTPIPE_FULL_EVAL=1.
size_t row_limit(const std::string& set) {
  if (full_eval()) return std::numeric_limits<size_t>::max();
  return set == "genre" ? 400 : set == "nli" ? 250 : 300;
}

const char* model_dir_of(const std::string& set) {
  return set == "genre" ? "models/minilm-l6-genre"
         : set == "nli" ? "models/minilm-l6-nli"
                        : "models/minilm-l6-sts";
}

#define QP_REQUIRE_FIDELITY_INPUTS(set)                                      \
  do {                                                                       \
    QP_REQUIRE_SHARED(model_dir_of(set));                                    \
    QP_REQUIRE_SHARED(std::string(set) == "genre" ? "data/genre/dev_a.jsonl" \
                      : std::string(set) == "nli" ? "data/mnli/dev_a.jsonl"  \
                                                  : "data/stsb/dev_a.tsv");  \
  } while (0)

// 8-bit per-channel symmetric: cosine ≥ 0.999, labels agree on ≥ 99 %, accuracy
// drops ≤ 0.5 points (classifiers); STS Spearman drops ≤ 0.005.
void expect_q8_fidelity(const std::string& set_name) {
  const EvalSet set = load_eval_set(set_name, row_limit(set_name));
  const Fidelity f = measure(set, "q8_sym_ch");
  EXPECT_GE(f.mean_cosine, 0.999);
  if (set.sts) {
    EXPECT_LE(f.drop(), 0.005);
  } else {
    EXPECT_GE(f.agreement, 0.99);
    EXPECT_LE(f.drop(), 0.005);
  }
}

// 4-bit affine, group 64: cosine ≥ 0.99, accuracy drops ≤ 2 points (STS: the
// Spearman drop is held to the same 0.02).
void expect_q4_fidelity(const std::string& set_name) {
  const EvalSet set = load_eval_set(set_name, row_limit(set_name));
  const Fidelity f = measure(set, "q4_affine_g64");
  EXPECT_GE(f.mean_cosine, 0.99);
  EXPECT_LE(f.drop(), 0.02);
}

TEST(QuantFidelity, GenreQ8SymPerChannel) {
  QP_REQUIRE_FIDELITY_INPUTS("genre");
  expect_q8_fidelity("genre");
}

TEST(QuantFidelity, GenreQ4AffineG64) {
  QP_REQUIRE_FIDELITY_INPUTS("genre");
  expect_q4_fidelity("genre");
}

TEST(QuantFidelity, NliQ8SymPerChannel) {
  QP_REQUIRE_FIDELITY_INPUTS("nli");
  expect_q8_fidelity("nli");
}

TEST(QuantFidelity, NliQ4AffineG64) {
  QP_REQUIRE_FIDELITY_INPUTS("nli");
  expect_q4_fidelity("nli");
}

TEST(QuantFidelity, StsQ8SymPerChannel) {
  QP_REQUIRE_FIDELITY_INPUTS("sts");
  expect_q8_fidelity("sts");
}

TEST(QuantFidelity, StsQ4AffineG64) {
  QP_REQUIRE_FIDELITY_INPUTS("sts");
  expect_q4_fidelity("sts");
}

// Below 4 bits: measured and printed on all rows, no thresholds.
TEST(QuantFidelity, LowBitSchemesFullData) {
  if (!full_eval())
    GTEST_SKIP() << "set QUANTPIPE_FULL_EVAL=1 to measure q3/q2/ternary fidelity on all rows "
                    "(bench/quant_fidelity.sh does)";
  for (const std::string set_name : {"genre", "nli", "sts"}) {
    QP_REQUIRE_FIDELITY_INPUTS(set_name);
    const EvalSet set = load_eval_set(set_name, row_limit(set_name));
    for (const char* scheme : {"q3_affine_g64", "q2_affine_g64", "ternary_g64"}) {
      const Fidelity f = measure(set, scheme);
      EXPECT_GT(f.mean_cosine, 0.0) << set_name << " " << scheme;  // ran and produced outputs
    }
  }
}

}  // namespace
}  // namespace qp
