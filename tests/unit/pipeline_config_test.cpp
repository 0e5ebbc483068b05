// Pipeline config loading: merging files, defaults, located errors, shipped configs.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "pipeline/config.h"
#include "pipeline/yaml_stream_check.h"
#include "test_paths.h"

namespace qp::pipeline {
namespace {

// A minimal valid dataset and model, so each test changes only what it checks.
const std::string kDataset = R"(datasets:
  - name: d1
    provider: local
    path: data/d1.jsonl
    metrics: [accuracy]
)";

const std::string kModel = R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantization: {bits: 8}
    benchmarks: [d1]
)";

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class PipelineConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_.path() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  // The message of the qp::Error that loading throws (fails the test if none).
  std::string load_error(const std::vector<std::string>& patterns) {
    try {
      load_pipeline_config(patterns);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an error";
    return "";
  }

  // Loads one file holding the text plus the standard dataset.
  PipelineConfig load_with_dataset(const std::string& models) {
    return load_pipeline_config({write("c.yaml", models + kDataset)});
  }
  std::string error_with_dataset(const std::string& models) {
    return load_error({write("c.yaml", models + kDataset)});
  }

  test::TempDir dir_;
};

TEST_F(PipelineConfigTest, OneFile) {
  const std::string file = write("all.yaml", kModel + kDataset);
  const PipelineConfig config = load_pipeline_config({file});
  ASSERT_EQ(config.models.size(), 1u);
  ASSERT_EQ(config.datasets.size(), 1u);
  const ModelConfig& m = config.models[0];
  EXPECT_EQ(m.name, "m1");
  EXPECT_EQ(m.hf_name, "org/m1");
  EXPECT_TRUE(m.path.empty());
  EXPECT_EQ(m.task, ModelTask::Nli);
  EXPECT_EQ(m.benchmarks, std::vector<std::string>{"d1"});
  EXPECT_EQ(m.source.str(), file + ":2");
  EXPECT_EQ(config.files, std::vector<std::string>{file});
  EXPECT_EQ(config.find_dataset("d1"), &config.datasets[0]);
  EXPECT_EQ(config.find_dataset("nope"), nullptr);
}

// Issue 11: a model's `note:` (shown in the report) is free text; absent is empty.
TEST_F(PipelineConfigTest, ModelNote) {
  EXPECT_EQ(load_with_dataset(kModel).models[0].note, "");
  const PipelineConfig config =
      load_with_dataset(kModel + "    note: \"deliberately weak: 0.37 accuracy\"\n");
  EXPECT_EQ(config.models[0].note, "deliberately weak: 0.37 accuracy");
  EXPECT_TRUE(
      Contains(error_with_dataset(kModel + "    note: {a: 1}\n"), "models[0].note: expected a string"));
}

// Issue 12: `upload_repo:`, the hub repo of `pipeline --upload`, with {quant}
// and {model} replaced; absent, the token's user and a name made of both.
TEST_F(PipelineConfigTest, UploadRepo) {
  const ModelConfig plain = load_with_dataset(kModel).models[0];
  EXPECT_EQ(plain.upload_repo, "");
  EXPECT_EQ(upload_repo_for(plain, "q8_sym_ch", "alice"), "alice/m1-q8_sym_ch-quantpipe");
  const ModelConfig named = load_with_dataset(kModel + "    upload_repo: team/{model}-{quant}-x\n").models[0];
  EXPECT_EQ(upload_repo_for(named, "q4_affine_g64", "alice"), "team/m1-q4_affine_g64-x");
  const std::string error = error_with_dataset(kModel + "    upload_repo: no-owner-{quant}\n");
  EXPECT_TRUE(Contains(error, "c.yaml:7: models[0].upload_repo")) << error;
  EXPECT_TRUE(Contains(error, "owner/name")) << error;
}

TEST_F(PipelineConfigTest, Defaults) {
  const PipelineConfig config = load_with_dataset(kModel);
  const QuantizationConfig& q = config.models[0].quantization.at(0);
  EXPECT_EQ(q.bits, 8);
  EXPECT_FALSE(q.ternary);
  EXPECT_EQ(q.group_size, 64);
  EXPECT_EQ(q.scheme, SchemeKind::Affine);
  EXPECT_FALSE(q.per_channel);
  EXPECT_FALSE(q.target_size_mb);
  EXPECT_FALSE(q.max_accuracy_drop);
  const DatasetConfig& d = config.datasets[0];
  EXPECT_EQ(d.provider, DatasetProvider::Local);
  EXPECT_EQ(d.splits, std::vector<std::string>{"validation"});
  EXPECT_EQ(d.preprocessing.max_length, 128);
  EXPECT_TRUE(d.preprocessing.truncation);
  EXPECT_EQ(d.preprocessing.padding, "longest");
  EXPECT_EQ(d.format, DatasetFormat::Jsonl);  // from the extension
  EXPECT_EQ(d.columns.text, "text");
  EXPECT_EQ(d.columns.text_pair, "");
  EXPECT_EQ(d.columns.label, "label");
  EXPECT_TRUE(d.label_mapping.empty());
  EXPECT_FALSE(d.limit);
}

TEST_F(PipelineConfigTest, RelativePathsFollowTheConfigFile) {
  const std::string file = write("sub/c.yaml", kDataset);
  const PipelineConfig config = load_pipeline_config({file});
  EXPECT_EQ(config.datasets[0].path, (dir_.path() / "sub/data/d1.jsonl").lexically_normal());
}

TEST_F(PipelineConfigTest, EveryDatasetField) {
  const PipelineConfig config = load_pipeline_config({write("d.yaml", R"(datasets:
  - name: hub
    provider: huggingface
    hf_name: nyu-mll/glue
    subset: mnli
    splits: [validation_matched, validation_mismatched]
    metrics: [accuracy, agreement]
    preprocessing: {max_length: 256, truncation: false, padding: max_length, cache_dir: /tmp/cache}
    columns: {text: premise, text_pair: hypothesis, label: label}
    label_mapping: {"0": entailment, "1": neutral}
    limit: 500
  - name: pairs
    provider: local
    path: /data/pairs.txt
    format: tsv
    metrics: spearman
)")});
  const DatasetConfig& hub = config.datasets.at(0);
  EXPECT_EQ(hub.provider, DatasetProvider::HuggingFace);
  EXPECT_EQ(hub.hf_name, "nyu-mll/glue");
  EXPECT_EQ(hub.subset, "mnli");
  EXPECT_EQ(hub.splits.size(), 2u);
  EXPECT_EQ(hub.preprocessing.max_length, 256);
  EXPECT_FALSE(hub.preprocessing.truncation);
  EXPECT_EQ(hub.preprocessing.padding, "max_length");
  EXPECT_EQ(hub.preprocessing.cache_dir, "/tmp/cache");
  EXPECT_EQ(hub.columns.text_pair, "hypothesis");
  EXPECT_EQ(hub.label_mapping.at("1"), "neutral");
  EXPECT_EQ(hub.limit, 500);
  const DatasetConfig& pairs = config.datasets.at(1);
  EXPECT_EQ(pairs.format, DatasetFormat::Tsv);
  EXPECT_EQ(pairs.metrics, std::vector<std::string>{"spearman"});
}

TEST_F(PipelineConfigTest, ZeroShotFields) {
  const PipelineConfig config = load_pipeline_config({write("z.yaml", R"(datasets:
  - name: zs
    provider: local
    path: data/zs.jsonl
    metrics: [accuracy]
    candidate_labels: [sports, politics, "science fiction"]
    hypothesis_template: "This text is about {}."
    columns: {label: ""}
)" + kDataset.substr(kDataset.find('\n') + 1))});
  const DatasetConfig& zs = config.datasets.at(0);
  EXPECT_EQ(zs.candidate_labels, (std::vector<std::string>{"sports", "politics", "science fiction"}));
  EXPECT_EQ(zs.hypothesis_template, "This text is about {}.");
  EXPECT_EQ(zs.columns.label, "");
  const DatasetConfig& plain = config.datasets.at(1);
  EXPECT_TRUE(plain.candidate_labels.empty());
  EXPECT_EQ(plain.hypothesis_template, "This example is {}.");
}

TEST_F(PipelineConfigTest, HypothesisTemplateNeedsAPlaceholder) {
  const std::string error =
      load_error({write("z.yaml", kDataset + "    hypothesis_template: \"About it.\"\n")});
  EXPECT_TRUE(Contains(error, "z.yaml:6: datasets[0].hypothesis_template: must contain {}")) << error;
  const std::string empty = load_error({write("e.yaml", kDataset + "    candidate_labels: []\n")});
  EXPECT_TRUE(Contains(empty, "datasets[0].candidate_labels: needs at least one label")) << empty;
}

TEST_F(PipelineConfigTest, SeveralFilesMerge) {
  const std::string models = write("models.yaml", kModel);
  const std::string datasets = write("datasets.yaml", kDataset);
  const PipelineConfig config = load_pipeline_config({models, datasets});
  EXPECT_EQ(config.models.size(), 1u);
  EXPECT_EQ(config.datasets.size(), 1u);
  EXPECT_EQ(config.datasets[0].source.file, datasets);
  EXPECT_EQ(config.files, (std::vector<std::string>{models, datasets}));
}

TEST_F(PipelineConfigTest, GlobMatchesEachFileOnce) {
  write("cfg/a.yaml", kModel);
  write("cfg/b.yaml", kDataset);
  write("cfg/notes.txt", "not yaml: [");
  const std::string dir = (dir_.path() / "cfg").string();
  const PipelineConfig config = load_pipeline_config({dir + "/*.yaml", dir + "/a.yaml"});
  EXPECT_EQ(config.files, (std::vector<std::string>{dir + "/a.yaml", dir + "/b.yaml"}));
}

TEST_F(PipelineConfigTest, NoMatchAndMissingFile) {
  const std::string pattern = (dir_.path() / "configs/*.yml").string();
  EXPECT_EQ(load_error({pattern}), "no config files match '" + pattern + "'");
  const std::string missing = (dir_.path() / "missing.yaml").string();
  EXPECT_TRUE(Contains(load_error({missing}), "'" + missing + "' does not exist"));
  EXPECT_TRUE(Contains(load_error({}), "no config files given"));
}

TEST_F(PipelineConfigTest, EmptyFileOrNothingDefined) {
  const std::string empty = write("empty.yaml", "# only a comment\n");
  EXPECT_EQ(load_error({empty}), empty + ": empty config file (expected 'models:' and/or 'datasets:')");
  const std::string nothing = write("nothing.yaml", "models: []\n");
  EXPECT_TRUE(Contains(load_error({nothing}), nothing + ": defines no models and no datasets"));
}

TEST_F(PipelineConfigTest, BrokenYamlNamesTheLine) {
  const std::string file = write("broken.yaml", "models:\n  - name: m1\n    task: [nli\n");
  const std::string error = load_error({file});
  EXPECT_TRUE(Contains(error, file + ":4: YAML syntax error: ")) << error;
}

TEST_F(PipelineConfigTest, UnknownKeyIsNamed) {
  const std::string error = error_with_dataset(R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantisation: {bits: 8}
)");
  EXPECT_TRUE(Contains(error, "c.yaml:5: models[0]: unknown key 'quantisation' (known: name, hf_name,"));
  EXPECT_TRUE(Contains(error_with_dataset("model: []\n"), "c.yaml:1: unknown key 'model'"));
  // Many stray keys: the first eight by name, the rest counted.
  std::string stray;
  for (int i = 0; i < 4000; ++i) {
    stray += 'a';
    stray += std::to_string(i);
    stray += ": 1\n";
  }
  const std::string many = error_with_dataset(stray);
  EXPECT_TRUE(Contains(
      many, "c.yaml:1: unknown keys 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7' and 3992 more (known: "))
      << many;
  EXPECT_LT(many.size(), 400u) << many;
}

TEST_F(PipelineConfigTest, BadBitsNamesFileLineAndKey) {
  const std::string error = error_with_dataset(R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantization:
      - {bits: 8}
      - {bits: 7}
)");
  EXPECT_TRUE(Contains(
      error,
      "c.yaml:7: models[0].quantization[1].bits: expected one of 8, 6, 5, 4, 3, 2, ternary, auto, got 7"))
      << error;
}

TEST_F(PipelineConfigTest, BadValuesAreLocated) {
  const std::string base = "models:\n  - name: m1\n    hf_name: org/m1\n";
  EXPECT_TRUE(Contains(
      error_with_dataset(base + "    task: chat\n    quantization: {bits: 8}\n"),
      "c.yaml:4: models[0].task: expected one of classification, nli, embedding, zero-shot, got chat"));
  EXPECT_TRUE(
      Contains(error_with_dataset(base + "    task: nli\n    quantization: {bits: 4, group_size: 48}\n"),
               "models[0].quantization.group_size: expected one of 32, 64, 128, got 48"));
  EXPECT_TRUE(
      Contains(error_with_dataset(base + "    task: nli\n    quantization: {bits: 8, per_channel: maybe}\n"),
               "models[0].quantization.per_channel: expected true or false, got 'maybe'"));
  EXPECT_TRUE(Contains(error_with_dataset(base + "    task: nli\n"),
                       "c.yaml:2: models[0]: missing required key 'quantization'"));
  EXPECT_TRUE(Contains(error_with_dataset(base + "    path: x\n    task: nli\n    quantization: {bits: 8}\n"),
                       "needs exactly one of 'hf_name' (hub id) and 'path'"));
}

TEST_F(PipelineConfigTest, UnknownBenchmarkDataset) {
  const std::string file = write("m.yaml", R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantization: {bits: 8}
    benchmarks: [d1, mnlii]
)");
  const std::string datasets = write("d.yaml", kDataset);
  EXPECT_EQ(load_error({file, datasets}),
            file + ":6: models[0].benchmarks[1]: model 'm1' names unknown dataset 'mnlii' (defined: d1)");
}

TEST_F(PipelineConfigTest, DuplicateNamesAcrossFiles) {
  const std::string first = write("a.yaml", kDataset);
  const std::string second = write("b.yaml", "\n" + kDataset);
  EXPECT_EQ(load_error({first, second}),
            second + ":3: duplicate dataset 'd1' (first defined at " + first + ":2)");
  const std::string m1 = write("m1.yaml", kModel + kDataset);
  const std::string m2 = write("m2.yaml", kModel);
  EXPECT_TRUE(
      Contains(load_error({m1, m2}), m2 + ":2: duplicate model 'm1' (first defined at " + m1 + ":2)"));
}

TEST_F(PipelineConfigTest, QuantizationAsMapOrList) {
  const std::string base = "models:\n  - name: m1\n    hf_name: org/m1\n    task: embedding\n";
  const PipelineConfig one = load_with_dataset(base +
                                               "    quantization: {bits: 4, group_size: 32, scheme: sym, "
                                               "target_size_mb: 12.5, max_accuracy_drop: 0.02}\n");
  ASSERT_EQ(one.models[0].quantization.size(), 1u);
  EXPECT_EQ(one.models[0].quantization[0].group_size, 32);
  EXPECT_EQ(one.models[0].quantization[0].target_size_mb, 12.5);
  EXPECT_EQ(one.models[0].quantization[0].max_accuracy_drop, 0.02);
  const PipelineConfig list = load_with_dataset(base + R"(    quantization:
      - bits: 8
        per_channel: true
        scheme: sym
        dtype: int8
      - bits: ternary
)");
  ASSERT_EQ(list.models[0].quantization.size(), 2u);
  EXPECT_EQ(list.models[0].quantization[0].dtype, "int8");
  EXPECT_TRUE(list.models[0].quantization[1].ternary);
  EXPECT_EQ(list.models[0].quantization[1].source.line, 10);
}

TEST_F(PipelineConfigTest, SchemeResolution) {
  QuantizationConfig q;
  q.bits = 8;
  q.per_channel = true;
  q.scheme = SchemeKind::Symmetric;
  EXPECT_EQ(scheme_name(q), "q8_sym_ch");
  EXPECT_EQ(resolve_scheme(q).granularity, quant::Granularity::PerChannel);
  q = {};
  q.bits = 4;
  EXPECT_EQ(scheme_name(q), "q4_affine_g64");
  EXPECT_EQ(resolve_scheme(q).group_size, 64);
  q = {};
  q.ternary = true;
  EXPECT_EQ(scheme_name(q), "ternary_g64");
  EXPECT_EQ(resolve_scheme(q).kind, quant::QuantKind::Ternary);
  q = {};
  q.bits = 7;
  EXPECT_THROW(resolve_scheme(q), Error);
}

TEST_F(PipelineConfigTest, ShippedConfigsLoad) {
  const std::string configs = (test::source_dir() / "configs").string();
  const PipelineConfig config = load_pipeline_config({configs + "/*.yaml"});
  EXPECT_EQ(config.files.size(), 3u);
  EXPECT_GE(config.models.size(), 14u);
  for (const ModelConfig& model : config.models) {
    for (const QuantizationConfig& q : model.quantization) {
      EXPECT_NO_THROW(resolve_scheme(q)) << model.name;
      EXPECT_TRUE(q.max_accuracy_drop) << model.name << " has no accuracy gate";
    }
    EXPECT_FALSE(model.benchmarks.empty()) << model.name;
  }
}

TEST_F(PipelineConfigTest, ShippedSharedConfigPointsAtShared) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const PipelineConfig config = load_pipeline_config({(test::source_dir() / "configs/shared.yaml").string()});
  for (const ModelConfig& model : config.models)
    EXPECT_TRUE(std::filesystem::is_directory(model.path)) << model.path;
  for (const DatasetConfig& dataset : config.datasets)
    EXPECT_TRUE(std::filesystem::is_regular_file(dataset.path)) << dataset.path;
}

}  // namespace
}  // namespace qp::pipeline

namespace qp::pipeline {
namespace {

class PipelineConfigStrict : public PipelineConfigTest {};

TEST_F(PipelineConfigStrict, RepeatedKeyIsRefusedWithBothLines) {
  const std::string error = error_with_dataset(R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantization: {bits: 8, max_accuracy_drop: 0.01}
    quantization: {bits: 4}
    benchmarks: [d1]
)");
  EXPECT_TRUE(Contains(error, "c.yaml:6"));
  EXPECT_TRUE(Contains(error, "key 'quantization' appears twice in this map (first at line 5)"));
  EXPECT_TRUE(
      Contains(error_with_dataset("models:\n  - name: m1\n    name: m2\n"), "key 'name' appears twice"));
}

// A malformed stream on which yaml-cpp 0.7's LoadAll never returns (it piles
// up empty documents until memory runs out), found by fuzz/pipeline_yaml_fuzz.cpp:
// now one clear error.
TEST_F(PipelineConfigStrict, StreamThatNeverEndsIsOneError) {
  const std::string error =
      load_error({(test::source_dir() / "fuzz/corpus/pipeline_yaml/endless_documents.yaml").string()});
  EXPECT_TRUE(Contains(error, "endless_documents.yaml:")) << error;
}

TEST_F(PipelineConfigStrict, SecondYamlDocumentIsRefused) {
  const std::string error = load_error({write("c.yaml", kModel + "---\n" + kDataset)});
  EXPECT_TRUE(Contains(error, "c.yaml:"));
  EXPECT_TRUE(Contains(error, "a second YAML document"));
  // A leading '---' is one document, as YAML has it.
  EXPECT_EQ(load_pipeline_config({write("one.yaml", "---\n" + kModel + kDataset)}).models.size(), 1u);
}

// "Billion laughs": ten anchors, each aliasing the one before ten times,
// would expand to 10^10 nodes. Refused from the parser's events, before
// anything is built or walked.
TEST_F(PipelineConfigStrict, AliasExpansionIsLimited) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string prev = std::string("*a") + std::to_string(i - 1);
    text += std::string("a") + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) text += ", " + prev;
    text += "]\n";
  }
  const std::string error = load_error({write("laughs.yaml", text)});
  EXPECT_TRUE(Contains(error, "laughs.yaml:"));
  EXPECT_TRUE(Contains(error, "more than 100000 YAML nodes once aliases are expanded"));
}

// Anchors and aliases within the limit are YAML as usual: shared settings work.
TEST_F(PipelineConfigStrict, AliasesWithinTheLimitLoad) {
  const std::string text = R"(models:
  - name: m1
    hf_name: org/m1
    task: nli
    quantization: &q8 {bits: 8}
    benchmarks: &bench [d1]
  - name: m2
    hf_name: org/m2
    task: nli
    quantization: *q8
    benchmarks: *bench
)" + kDataset;
  const PipelineConfig config = load_pipeline_config({write("shared.yaml", text)});
  ASSERT_EQ(config.models.size(), 2u);
  EXPECT_EQ(config.models[1].quantization.size(), 1u);
}

TEST_F(PipelineConfigStrict, NestingDepthIsLimited) {
  const std::string deep = std::string(kMaxYamlDepth + 1, '[') + std::string(kMaxYamlDepth + 1, ']') + "\n";
  const std::string error = load_error({write("deep.yaml", "models: " + deep)});
  EXPECT_TRUE(Contains(error, "deep.yaml:1: YAML nested more than 64 levels deep"));
  // 64 levels are still YAML (and then not a valid config, which says so).
  const std::string ok = std::string(kMaxYamlDepth - 1, '[') + std::string(kMaxYamlDepth - 1, ']') + "\n";
  EXPECT_FALSE(Contains(load_error({write("ok.yaml", "models: " + ok)}), "nested more than"));
}

}  // namespace
}  // namespace qp::pipeline
