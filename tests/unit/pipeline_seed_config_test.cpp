// The original pipeline's config format loads as it is (issue 10): `datasets:`
// as a map keyed by name (`name:` the hub path, `splits:` a map of role →
// split), tasks as it spells them, and `max_accuracy_drop` as a fraction of the
// metric's scale. The seed files in ../shared/seed_configs are read untouched.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "eval/gates.h"
#include "pipeline/config.h"
#include "pipeline/dataset_source.h"
#include "pipeline/eval_step.h"
#include "pipeline/plan.h"
#include "scoped_env.h"
#include "test_paths.h"

namespace qp::pipeline {
namespace {

namespace fs = std::filesystem;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class PipelineSeedConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::string load_error(const std::vector<std::string>& files) {
    try {
      load_pipeline_config(files);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an error";
    return "";
  }
  Workspace workspace() const { return Workspace(dir_.path() / "ws"); }

  test::TempDir dir_;
  // An empty hub cache, online: whatever this machine has cached or set.
  test::ScopedEnv hub_cache_{"HF_HUB_CACHE", (dir_.path() / "empty-hub").c_str()};
  test::ScopedEnv online_{"HF_HUB_OFFLINE", nullptr};
};

const Job* find_job(const Plan& plan, const std::string& id) {
  for (const Job& job : plan.jobs)
    if (job.id == id) return &job;
  return nullptr;
}

// The seed models.yaml as it is, with a datasets file in the keyed form whose
// names match its benchmarks.
TEST_F(PipelineSeedConfigTest, SeedModelsFilePlansWithKeyedDatasets) {
  QP_REQUIRE_SHARED("seed_configs/models.yaml");
  const std::string models = (test::shared_dir() / "seed_configs/models.yaml").string();
  const std::string datasets = write("datasets.yaml", R"(datasets:
  dataset1: {provider: huggingface, name: org/dataset1, metrics: [accuracy]}
  dataset2: {provider: huggingface, name: org/dataset2, splits: {train: train, test: test}, metrics: [accuracy]}
  mnli:
    provider: huggingface
    name: nyu-mll/glue
    subset: mnli
    splits: {train: train, validation: validation_matched}
    metrics: [accuracy]
  sentiment: {provider: local, path: sentiment.jsonl, metrics: [accuracy]}
)");
  const PipelineConfig config = load_pipeline_config({models, datasets});
  ASSERT_EQ(config.models.size(), 2u);
  const ModelConfig& first = config.models[0];
  EXPECT_EQ(first.name, "model-identifier");
  EXPECT_EQ(first.hf_name, "huggingface/repo-name");
  EXPECT_EQ(first.task, ModelTask::Classification);  // "classification-type", the README's example
  ASSERT_EQ(first.quantization.size(), 1u);
  EXPECT_EQ(first.quantization[0].max_accuracy_drop, 0.015);
  EXPECT_EQ(first.quantization[0].target_size_mb, 125);
  EXPECT_EQ(first.benchmarks, (std::vector<std::string>{"dataset1", "dataset2"}));
  EXPECT_EQ(config.models[1].quantization[0].max_accuracy_drop, 0.02);
  // 0.015 is a 1.5-point gate, as the seed's comment says; not 0.015 points.
  const eval::GateThresholds gates = gate_thresholds(first.quantization[0]);
  EXPECT_EQ(gates.max_accuracy_drop, 0.015);

  const DatasetConfig& mnli = *config.find_dataset("mnli");
  EXPECT_EQ(mnli.hf_name, "nyu-mll/glue");
  EXPECT_EQ(mnli.subset, "mnli");
  EXPECT_EQ(mnli.splits, std::vector<std::string>{"validation_matched"});  // evaluated on, not trained on
  EXPECT_EQ(config.find_dataset("dataset2")->splits, std::vector<std::string>{"test"});
  EXPECT_EQ(config.find_dataset("dataset1")->splits, std::vector<std::string>{"validation"});
  EXPECT_EQ(config.find_dataset("sentiment")->path, dir_.path() / "sentiment.jsonl");

  const Plan plan = make_plan(config, workspace(), {});
  EXPECT_EQ(plan.count(JobKind::Convert), 2u);
  EXPECT_EQ(plan.count(JobKind::Evaluate), 4u);
  for (const char* id :
       {"convert.model-identifier.q8_affine_g64", "convert.my-custom-model.q8_affine_g64",
        "eval.model-identifier.q8_affine_g64.dataset1", "eval.model-identifier.q8_affine_g64.dataset2",
        "eval.my-custom-model.q8_affine_g64.mnli", "eval.my-custom-model.q8_affine_g64.sentiment"})
    EXPECT_TRUE(find_job(plan, id)) << id;
  // The placeholder hub ids are not in the cache: a plan that does not fetch
  // (a dry run) marks them to be fetched when the pipeline runs.
  EXPECT_TRUE(find_job(plan, "convert.model-identifier.q8_affine_g64")->fetch_on_run);
  EXPECT_NE(find_job(plan, "convert.model-identifier.q8_affine_g64")->command.find("huggingface/repo-name"),
            std::string::npos);
}

// The seed datasets.yaml as it is, with a models file benchmarking its dataset.
TEST_F(PipelineSeedConfigTest, SeedDatasetsFilePlansWithAModelNamingIt) {
  QP_REQUIRE_SHARED("seed_configs/datasets.yaml");
  const std::string datasets = (test::shared_dir() / "seed_configs/datasets.yaml").string();
  const std::string models = write("models.yaml", R"(models:
  - name: nli-model
    hf_name: org/nli-model
    task: zero-shot-classification
    quantization:
      - {bits: 8, dtype: int8, max_accuracy_drop: 0.015}
      - {bits: 4, dtype: int4, max_accuracy_drop: 0.03}
    benchmarks: [dataset_name]
)");
  const PipelineConfig config = load_pipeline_config({models, datasets});
  ASSERT_EQ(config.datasets.size(), 1u);
  const DatasetConfig& d = config.datasets[0];
  EXPECT_EQ(d.name, "dataset_name");
  EXPECT_EQ(d.provider, DatasetProvider::HuggingFace);
  EXPECT_EQ(d.hf_name, "dataset_path");
  EXPECT_EQ(d.subset, "optional_subset");
  EXPECT_EQ(d.splits, std::vector<std::string>{"validation"});
  EXPECT_EQ(d.metrics, std::vector<std::string>{"accuracy"});
  EXPECT_EQ(d.preprocessing.max_length, 512);
  EXPECT_TRUE(d.preprocessing.truncation);
  EXPECT_EQ(d.preprocessing.truncation_strategy, "longest_first");
  EXPECT_EQ(d.preprocessing.padding, "longest");
  EXPECT_EQ(d.preprocessing.cache_dir, "/tmp/hf_datasets");
  EXPECT_EQ(d.source.str(), datasets + ":4");  // the line of its key
  EXPECT_EQ(hub_export_path(d, "validation", "/unused"),
            "/tmp/hf_datasets/dataset_path/optional_subset/validation.jsonl");
  EXPECT_EQ(config.models[0].task, ModelTask::ZeroShot);

  const Plan plan = make_plan(config, workspace(), {});
  EXPECT_EQ(plan.count(JobKind::Convert), 2u);
  EXPECT_EQ(plan.count(JobKind::Evaluate), 2u);
  EXPECT_TRUE(find_job(plan, "eval.nli-model.q8_affine_g64.dataset_name"));
  EXPECT_TRUE(find_job(plan, "eval.nli-model.q4_affine_g64.dataset_name"));
}

TEST_F(PipelineSeedConfigTest, ListAndKeyedDatasetsMixAcrossFiles) {
  const std::string keyed = write("keyed.yaml", R"(datasets:
  glue-sst2:
    provider: huggingface
    name: nyu-mll/glue
    subset: sst2
    splits: [validation]
    metrics: [accuracy]
  local-one:
    provider: local
    path: one.jsonl
    metrics: [accuracy]
)");
  const std::string listed = write("listed.yaml", R"(datasets:
  - {name: other, provider: huggingface, hf_name: org/other, metrics: [accuracy]}
)");
  const PipelineConfig config = load_pipeline_config({keyed, listed});
  ASSERT_EQ(config.datasets.size(), 3u);
  EXPECT_EQ(config.datasets[0].name, "glue-sst2");
  EXPECT_EQ(config.datasets[0].hf_name, "nyu-mll/glue");
  EXPECT_EQ(config.datasets[1].format, DatasetFormat::Jsonl);
  EXPECT_EQ(config.datasets[2].hf_name, "org/other");
  // A name defined in both forms is a duplicate like any other.
  const std::string again =
      write("again.yaml", "datasets:\n  other: {provider: local, path: x.jsonl, metrics: [accuracy]}\n");
  EXPECT_TRUE(Contains(load_error({listed, again}), again + ":2: duplicate dataset 'other'"));
}

TEST_F(PipelineSeedConfigTest, KeyedDatasetErrorsAreLocated) {
  auto error = [&](const std::string& entry) {
    return load_error({write("d.yaml", "datasets:\n  d1:\n" + entry)});
  };
  EXPECT_TRUE(Contains(error("    provider: huggingface\n    metrics: [accuracy]\n"),
                       "d.yaml:3: datasets.d1: missing required key 'name' (the hub dataset path"));
  EXPECT_TRUE(
      Contains(error("    provider: huggingface\n    name: a/b\n    hf_name: a/b\n    metrics: [accuracy]\n"),
               "datasets.d1.hf_name: the hub dataset path is given twice"));
  EXPECT_TRUE(
      Contains(error("    provider: huggingface\n    name: a/b\n    splits: {train: train}\n    metrics: "
                     "[accuracy]\n"),
               "datasets.d1.splits: names no 'validation' or 'test' split to evaluate on (roles: train)"));
  EXPECT_TRUE(
      Contains(error("    provider: local\n    name: a/b\n    path: x.jsonl\n    metrics: [accuracy]\n"),
               "datasets.d1.name: only for provider huggingface"));
  EXPECT_TRUE(
      Contains(error("    provider: huggingface\n    name: a/b\n    metrics: [accuracy]\n    preprocessing: "
                     "{truncation: sometimes}\n"),
               "expected true, false, longest_first, only_first, only_second or do_not_truncate, got "
               "sometimes"));
  EXPECT_TRUE(Contains(load_error({write("b.yaml",
                                         "datasets:\n  bad name:\n    provider: local\n    path: "
                                         "x.jsonl\n    metrics: [accuracy]\n")}),
                       "b.yaml:2: datasets.bad name: 'bad name' may only use letters"));
}

TEST_F(PipelineSeedConfigTest, TruncationTakesBooleansAndStrategies) {
  const PipelineConfig config = load_pipeline_config({write("d.yaml", R"(datasets:
  a: {provider: local, path: a.jsonl, metrics: [accuracy], preprocessing: {truncation: do_not_truncate}}
  b: {provider: local, path: b.jsonl, metrics: [accuracy], preprocessing: {truncation: only_second}}
  c: {provider: local, path: c.jsonl, metrics: [accuracy], preprocessing: {truncation: false}}
)")});
  EXPECT_FALSE(config.datasets[0].preprocessing.truncation);
  EXPECT_TRUE(config.datasets[1].preprocessing.truncation);
  EXPECT_EQ(config.datasets[1].preprocessing.truncation_strategy, "only_second");
  EXPECT_FALSE(config.datasets[2].preprocessing.truncation);
}

// A value above 1 is points written by mistake: a gate a hundred times looser than meant.
TEST_F(PipelineSeedConfigTest, MaxAccuracyDropAboveOneIsRefusedAsPoints) {
  const std::string file = write("m.yaml", R"(models:
  - name: m1
    hf_name: org/m1
    task: text-classification
    quantization: {bits: 8, max_accuracy_drop: 1.5}
datasets:
  d1: {provider: local, path: d1.jsonl, metrics: [accuracy]}
)");
  const std::string error = load_error({file});
  EXPECT_TRUE(Contains(error, file + ":5: models[0].quantization.max_accuracy_drop: max_accuracy_drop is a "
                                     "fraction of the metric's scale (0.015 means 1.5%"))
      << error;
  EXPECT_TRUE(Contains(error, "got 1.5; for 1.5 points write 0.015")) << error;
  EXPECT_EQ(eval::max_accuracy_drop_problem(0), "");
  EXPECT_EQ(eval::max_accuracy_drop_problem(1), "");
  EXPECT_TRUE(Contains(eval::max_accuracy_drop_problem(-0.1), "between 0 and 1"));
}

}  // namespace
}  // namespace qp::pipeline
