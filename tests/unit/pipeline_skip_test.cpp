// Skip-if-unchanged does not trust the state file alone (issue 10): a deleted,
// truncated or replaced workspace model is rebuilt, and the evaluations of a
// rebuilt model run again.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/tiny_model.h"
#include "pipeline/config.h"
#include "pipeline/job_state.h"
#include "pipeline/plan.h"
#include "pipeline/skip_check.h"
#include "quant/convert.h"
#include "test_paths.h"

namespace qp::pipeline {
namespace {

namespace fs = std::filesystem;

class PipelineSkipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyBertSpec spec;
    spec.num_labels = 2;
    write_tiny_bert(dir_.path() / "m1", spec);
    std::ofstream(dir_.path() / "d1.jsonl") << R"({"text": "a dog", "label": "LABEL_0"})"
                                            << "\n";
    std::ofstream(dir_.path() / "c.yaml") << R"(models:
  - {name: m1, path: m1, task: classification, quantization: {bits: 8, scheme: sym, per_channel: true}, benchmarks: [d1]}
datasets:
  - {name: d1, provider: local, path: d1.jsonl, metrics: [accuracy]}
)";
    config_ = load_pipeline_config({(dir_.path() / "c.yaml").string()});
    workspace_.create_layout();
    plan_ = make_plan(config_, workspace_, {});
    ASSERT_EQ(plan_.jobs.size(), 2u);
  }

  const Job& conversion() const { return plan_.jobs[0]; }
  const Job& evaluation() const { return plan_.jobs[1]; }

  // What a finished run leaves: the converted directory with its recorded
  // files, done states, and the stored evaluation entry.
  void finish_run() {
    const Job& convert = conversion();
    fs::create_directories(convert.output);
    std::ofstream(convert.output / "model.safetensors") << std::string(1000, 'w');
    std::ofstream(convert.output / "quantpipe.json")
        << nlohmann::json(
               {{"source", {{"fingerprint", convert.source_fingerprint}}},
                {"plan", {{"linear", quant::format_scheme(resolve_scheme(*convert.quantization))}}}})
               .dump();
    JobState state{convert.id, JobStatus::Done, convert.fingerprint, 10, 20, ""};
    state.output_files = list_output_files(convert.output);
    write_job_state(workspace_, state);
    const Job& eval = evaluation();
    write_job_state(workspace_, {eval.id, JobStatus::Done, eval.fingerprint, 30, 40, ""});
    std::ofstream(workspace_.test_results("m1", eval.quant))
        << nlohmann::json({{"datasets", {{"d1", {{"fingerprint", eval.fingerprint}, {"passed", true}}}}}})
               .dump();
  }

  test::TempDir dir_;
  Workspace workspace_{dir_.path() / "ws"};
  PipelineConfig config_;
  Plan plan_;
};

TEST_F(PipelineSkipTest, IntactOutputIsSkippedWithItsEvaluation) {
  finish_run();
  const SkipCheck check = check_skips(plan_, workspace_);
  EXPECT_EQ(check.up_to_date, (std::set<std::string>{conversion().id, evaluation().id}));
  EXPECT_TRUE(check.reruns.empty());
  const std::map<std::string, int64_t> files = read_job_state(workspace_, conversion().id)->output_files;
  EXPECT_EQ(files.at("model.safetensors"), 1000);
  EXPECT_TRUE(files.count("quantpipe.json"));
}

TEST_F(PipelineSkipTest, TruncatedModelIsRebuiltAndReevaluated) {
  finish_run();
  fs::resize_file(conversion().output / "model.safetensors", 400);
  EXPECT_FALSE(is_up_to_date(conversion(), workspace_));
  EXPECT_TRUE(is_up_to_date(evaluation(), workspace_));  // on its own, its result is intact
  const SkipCheck check = check_skips(plan_, workspace_);
  EXPECT_TRUE(check.up_to_date.empty());  // the evaluation follows its conversion
  const std::string why = check.reruns.at(conversion().id);
  EXPECT_NE(why.find((conversion().output / "model.safetensors").string() + " is 400 bytes, 1000 when"),
            std::string::npos)
      << why;
  EXPECT_EQ(check.reruns.at(evaluation().id), conversion().id + " runs again");
}

TEST_F(PipelineSkipTest, DeletedModelIsRebuilt) {
  finish_run();
  fs::remove_all(conversion().output);
  const SkipCheck check = check_skips(plan_, workspace_);
  EXPECT_TRUE(check.up_to_date.empty());
  EXPECT_NE(check.reruns.at(conversion().id).find(conversion().output.string() + " is missing"),
            std::string::npos)
      << check.reruns.at(conversion().id);
  // A recorded file removed from an otherwise present directory.
  finish_run();
  fs::remove(conversion().output / "model.safetensors");
  EXPECT_FALSE(is_up_to_date(conversion(), workspace_));
}

TEST_F(PipelineSkipTest, ModelOfAnotherSourceOrSchemeIsRebuilt) {
  finish_run();
  // Another conversion written over the directory, with the same file sizes.
  nlohmann::json meta = {
      {"source", {{"fingerprint", std::string(conversion().source_fingerprint.size(), '0')}}},
      {"plan", {{"linear", quant::format_scheme(resolve_scheme(*conversion().quantization))}}}};
  std::ofstream(conversion().output / "quantpipe.json") << meta.dump();
  JobState state = *read_job_state(workspace_, conversion().id);
  state.output_files = list_output_files(conversion().output);
  write_job_state(workspace_, state);
  EXPECT_FALSE(is_up_to_date(conversion(), workspace_));
  EXPECT_NE(check_skips(plan_, workspace_).reruns.at(conversion().id).find("source fingerprint"),
            std::string::npos);
  meta["source"]["fingerprint"] = conversion().source_fingerprint;
  meta["plan"]["linear"] = "q4_affine_g64";
  std::ofstream(conversion().output / "quantpipe.json") << meta.dump();
  state.output_files = list_output_files(conversion().output);
  write_job_state(workspace_, state);
  EXPECT_FALSE(is_up_to_date(conversion(), workspace_));
}

// A state from before output files were recorded cannot be checked, so it is not trusted.
TEST_F(PipelineSkipTest, StateWithoutRecordedFilesIsRebuilt) {
  finish_run();
  JobState state = *read_job_state(workspace_, conversion().id);
  state.output_files.clear();
  write_job_state(workspace_, state);
  EXPECT_FALSE(is_up_to_date(conversion(), workspace_));
}

TEST(PipelineJobState, SkippedStateKeepsItsRunTimesAndFiles) {
  test::TempDir dir;
  const Workspace ws(dir.path() / "ws");
  ws.create_layout();
  JobState state{"convert.m.q8", JobStatus::Skipped, "fp", 100, 200, ""};
  state.skipped_at = 300;
  state.output_files = {{"model.safetensors", 1234}, {"1_Pooling/config.json", 56}};
  write_job_state(ws, state);
  const JobState read = *read_job_state(ws, state.id);
  EXPECT_EQ(read.status, JobStatus::Skipped);
  EXPECT_EQ(read.started, 100);
  EXPECT_EQ(read.finished, 200);
  EXPECT_EQ(read.skipped_at, 300);
  EXPECT_EQ(read.last_touched(), 300);
  EXPECT_EQ(read.output_files, state.output_files);
}

}  // namespace
}  // namespace qp::pipeline
