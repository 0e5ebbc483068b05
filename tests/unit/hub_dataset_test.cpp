// Hub datasets through the dataset viewer's rows API, against a fake viewer on
// 127.0.0.1 (fake_dataset_viewer.h): paging, the JSONL cache and its SHA-256
// record, offline mode, the config found through /splits, faults. No test
// touches the internet.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/json_read.h"
#include "fake_dataset_viewer.h"
#include "io/sha256_file.h"
#include "io_test_util.h"
#include "pipeline/config.h"
#include "pipeline/dataset_source.h"
#include "scoped_env.h"
#include "test_paths.h"

namespace qp::pipeline {
namespace {
namespace fs = std::filesystem;
using test::ScopedEnv;

class HubDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    test::FakeDatasetViewer::Rows rows;
    for (int i = 0; i < 250; ++i)
      rows.push_back({{"premise", "premise " + std::to_string(i)},
                      {"hypothesis", "hypothesis " + std::to_string(i)},
                      {"label", i % 3},
                      {"idx", i}});
    viewer_.datasets["nyu-mll/glue"]["mnli"]["validation_matched"] = rows;
    viewer_.datasets["nyu-mll/glue"]["sst2"]["validation"] = {{{"sentence", "fine"}, {"label", 1}}};
    config_.name = "mnli";
    config_.provider = DatasetProvider::HuggingFace;
    config_.hf_name = "nyu-mll/glue";
    config_.subset = "mnli";
    config_.splits = {"validation_matched"};
    config_.columns = {"premise", "hypothesis", "label"};
    config_.label_mapping = {{"0", "entailment"}, {"1", "neutral"}, {"2", "contradiction"}};
    config_.metrics = {"accuracy"};
    config_.source = {"datasets.yaml", 3};
  }
  fs::path cached() const { return hub_export_path(config_, "validation_matched", cache()); }
  fs::path cache() const { return tmp_.path() / "cache"; }
  std::vector<LabelledExample> load() { return load_dataset(config_, cache()); }

  test::TempDir tmp_;
  test::FakeDatasetViewer viewer_;
  DatasetConfig config_;
  ScopedEnv server_{"QUANTPIPE_DATASETS_SERVER", viewer_.endpoint().c_str()};
  ScopedEnv online_{"HF_HUB_OFFLINE", nullptr};
  ScopedEnv datasets_online_{"HF_DATASETS_OFFLINE", nullptr};
};

TEST_F(HubDataset, FetchesEveryPageIntoAJsonlCacheWithItsSha256) {
  const std::vector<LabelledExample> examples = load();
  ASSERT_EQ(examples.size(), 250u);
  EXPECT_EQ(examples[0].input.text, "premise 0");
  EXPECT_EQ(examples[0].input.text_pair, "hypothesis 0");
  EXPECT_EQ(examples[0].label, "entailment");
  EXPECT_EQ(examples[249].input.text, "premise 249");
  EXPECT_EQ(examples[248].label, "contradiction");
  EXPECT_EQ(viewer_.rows_requests, 3);  // pages of 100: offsets 0, 100, 200
  EXPECT_EQ(viewer_.requests.back(),
            "/rows?config=mnli&dataset=nyu-mll/glue&length=100&offset=200&split=validation_matched");
  // The cache: one row object per line, as the viewer sent it, and its record.
  const std::string jsonl = test::read_bytes(cached());
  EXPECT_EQ(jsonl.substr(0, jsonl.find('\n')),
            R"({"hypothesis":"hypothesis 0","idx":0,"label":0,"premise":"premise 0"})");
  const nlohmann::json meta = read_json_object_file(cached().string() + ".meta.json");
  EXPECT_EQ(meta["sha256"], sha256_hex(cached()));
  EXPECT_EQ(meta["rows"], 250);
  EXPECT_EQ(meta["config"], "mnli");
  EXPECT_EQ(meta["split"], "validation_matched");
  // The next load reads the cache only.
  EXPECT_EQ(load().size(), 250u);
  EXPECT_EQ(viewer_.rows_requests, 3);
}

TEST_F(HubDataset, OfflineReadsTheCacheOnly) {
  {
    ScopedEnv offline("HF_HUB_OFFLINE", "1");
    const std::string message = test::expect_error(
        [&] { load(); },
        {"datasets.yaml:3", "nyu-mll/glue/mnli", "validation_matched", cached().string(), "HF_HUB_OFFLINE"});
    EXPECT_EQ(viewer_.requests.size(), 0u) << message;
  }
  EXPECT_EQ(load().size(), 250u);
  ScopedEnv offline("HF_DATASETS_OFFLINE", "1");
  EXPECT_EQ(load().size(), 250u);
  EXPECT_EQ(viewer_.rows_requests, 3);
}

TEST_F(HubDataset, AChangedCacheIsFetchedAgainOnlineAndRefusedOffline) {
  load();
  std::ofstream(cached(), std::ios::app) << R"({"premise":"x","hypothesis":"y","label":0})"
                                         << "\n";
  {
    ScopedEnv offline("HF_HUB_OFFLINE", "1");
    test::expect_error([&] { load(); }, {"changed since it was fetched", "HF_HUB_OFFLINE"});
  }
  EXPECT_EQ(load().size(), 250u);
  EXPECT_EQ(viewer_.rows_requests, 6);
}

TEST_F(HubDataset, TheConfigComesFromSplitsWhenTheDatasetNamesNone) {
  viewer_.datasets["org/plain"]["default"]["test"] = {{{"text", "a"}, {"label", "x"}},
                                                      {{"text", "b"}, {"label", "y"}}};
  config_.hf_name = "org/plain";
  config_.subset = "";
  config_.splits = {"test"};
  config_.columns = {"text", "", "label"};
  config_.label_mapping.clear();
  const std::vector<LabelledExample> examples = load_dataset(config_, cache());
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[1].label, "y");
  EXPECT_EQ(viewer_.requests.front(), "/splits?dataset=org/plain");
  EXPECT_EQ(viewer_.requests.back(), "/rows?config=default&dataset=org/plain&length=100&offset=0&split=test");
}

TEST_F(HubDataset, TooManyRequestsIsRetried) {
  viewer_.fail_429 = 1;
  EXPECT_EQ(load().size(), 250u);
  EXPECT_EQ(viewer_.rows_requests, 4);
}

TEST_F(HubDataset, UnknownDatasetSplitOrAmbiguousConfigIsOneClearError) {
  config_.hf_name = "nobody/nothing";
  test::expect_error([&] { load(); }, {"datasets.yaml:3", "nobody/nothing", "404"});
  config_.hf_name = "nyu-mll/glue";
  config_.splits = {"train"};
  test::expect_error([&] { load(); }, {"nyu-mll/glue", "train", "404"});
  config_.subset = "";
  viewer_.datasets["nyu-mll/glue"]["qnli"]["validation"] = {{{"sentence", "x"}, {"label", 0}}};
  config_.splits = {"validation"};
  test::expect_error([&] { load(); }, {"several configs have this split", "subset:"});
  config_.splits = {"nope"};
  test::expect_error([&] { load(); }, {"no such split", "mnli/validation_matched"});
  EXPECT_FALSE(fs::exists(hub_export_path(config_, "nope", cache())));
}

}  // namespace
}  // namespace qp::pipeline
