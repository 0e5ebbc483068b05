// The pipeline's plan, workspace, logs, progress/ETA, monitor snapshots and hub
// cache lookup — everything of the pipeline that runs no model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/hub_cache.h"
#include "models/tiny_model.h"
#include "pipeline/config.h"
#include "pipeline/dataset_source.h"
#include "pipeline/job_state.h"
#include "pipeline/monitor.h"
#include "pipeline/plan.h"
#include "pipeline/progress.h"
#include "pipeline/runner.h"
#include "pipeline/skip_check.h"
#include "pipeline/workspace.h"
#include "quant/convert.h"
#include "scoped_env.h"
#include "test_paths.h"

namespace qp::pipeline {
namespace {

namespace fs = std::filesystem;

using test::ScopedEnv;

class PipelinePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyBertSpec spec;
    spec.num_labels = 2;
    write_tiny_bert(dir_.path() / "m1", spec);
    std::ofstream(dir_.path() / "d1.jsonl") << R"({"text": "a dog", "label": "LABEL_0"})"
                                            << "\n";
    std::ofstream(dir_.path() / "d2.jsonl") << R"({"text": "a cat", "label": "LABEL_1"})"
                                            << "\n";
    write_config(R"(models:
  - name: m1
    path: m1
    task: classification
    quantization:
      - {bits: 8, scheme: sym, per_channel: true}
      - {bits: 4, group_size: 32}
    benchmarks: [d1, d2]
  - name: hub-model
    hf_name: org/not-cached
    task: nli
    quantization: {bits: 8}
    benchmarks: [d1]
datasets:
  - {name: d1, provider: local, path: d1.jsonl, metrics: [accuracy]}
  - {name: d2, provider: local, path: d2.jsonl, metrics: [accuracy]}
)");
  }
  void write_config(const std::string& text) { std::ofstream(dir_.path() / "c.yaml") << text; }
  // A stand-in for a finished conversion's directory: a weights file and the
  // quantpipe.json fields the skip check reads.
  static void write_converted_output(const Job& job) {
    fs::create_directories(job.output);
    std::ofstream(job.output / "model.safetensors") << std::string(1000, 'w');
    std::ofstream(job.output / "quantpipe.json")
        << nlohmann::json({{"source", {{"fingerprint", job.source_fingerprint}}},
                           {"plan", {{"linear", quant::format_scheme(resolve_scheme(*job.quantization))}}}})
               .dump();
  }
  PipelineConfig config() { return load_pipeline_config({(dir_.path() / "c.yaml").string()}); }
  Workspace workspace() { return Workspace(dir_.path() / "ws"); }

  test::TempDir dir_;
  // An empty hub cache, whatever this machine has downloaded.
  ScopedEnv hub_cache_{"HF_HUB_CACHE", (dir_.path() / "empty-hub").c_str()};
  ScopedEnv online_{"HF_HUB_OFFLINE", nullptr};
  // No test reaches the internet: a fetch would meet a closed port.
  ScopedEnv endpoint_{"HF_ENDPOINT", "http://127.0.0.1:9"};
};

TEST_F(PipelinePlanTest, ModelTimesQuantizationTimesDataset) {
  const PipelineConfig c = config();
  const Plan plan = make_plan(c, workspace(), {});
  ASSERT_EQ(plan.count(JobKind::Convert), 3u);   // m1 × 2 + hub-model × 1
  ASSERT_EQ(plan.count(JobKind::Evaluate), 5u);  // m1 × 2 × 2 + hub-model × 1
  EXPECT_EQ(plan.jobs[0].id, "convert.m1.q8_sym_ch");
  EXPECT_EQ(plan.jobs[1].id, "convert.m1.q4_affine_g32");
  EXPECT_EQ(plan.jobs[0].output, workspace().root() / "models" / "m1_q8_sym_ch");
  EXPECT_NE(plan.jobs[0].command.find("quantpipe convert --model "), std::string::npos);
  EXPECT_NE(plan.jobs[0].command.find("--bits 8 --scheme sym --per-channel"), std::string::npos);
  EXPECT_NE(plan.jobs[1].command.find("--bits 4 --scheme affine --group-size 32"), std::string::npos);
  // Evaluations come grouped by model and dataset, so one baseline run serves each group.
  std::vector<std::string> evals;
  for (const Job& j : plan.jobs)
    if (j.kind == JobKind::Evaluate) evals.push_back(j.id);
  EXPECT_EQ(evals, (std::vector<std::string>{"eval.hub-model.q8_affine_g64.d1", "eval.m1.q8_sym_ch.d1",
                                             "eval.m1.q4_affine_g32.d1", "eval.m1.q8_sym_ch.d2",
                                             "eval.m1.q4_affine_g32.d2"}));
  // The hub model is not cached: a plan that does not fetch (a dry run) marks
  // it to be fetched when the pipeline runs, without a network.
  const Job& uncached = plan.jobs[2];
  EXPECT_TRUE(uncached.source.empty());
  EXPECT_TRUE(uncached.fetch_on_run);
  EXPECT_EQ(uncached.source_problem, "");
  EXPECT_TRUE(uncached.fingerprint.empty());
  EXPECT_NE(uncached.command.find("--model org/not-cached"), std::string::npos) << uncached.command;
}

// Offline, a hub model that is not cached cannot run: the plan says why instead of failing.
TEST_F(PipelinePlanTest, OfflineHubModelNotInTheCacheCannotRun) {
  ScopedEnv offline("HF_HUB_OFFLINE", "1");
  const PipelineConfig c = config();
  for (bool fetch : {false, true}) {
    const Plan plan = make_plan(c, workspace(), {{}, {}, {}, fetch});
    const Job& uncached = plan.jobs[2];
    EXPECT_TRUE(uncached.source.empty());
    EXPECT_FALSE(uncached.fetch_on_run);
    EXPECT_NE(uncached.source_problem.find("org/not-cached"), std::string::npos) << uncached.source_problem;
    EXPECT_NE(uncached.source_problem.find("quantpipe download org/not-cached"), std::string::npos);
    EXPECT_NE(uncached.source_problem.find("HF_HUB_OFFLINE=1"), std::string::npos);
  }
}

TEST_F(PipelinePlanTest, FiltersSelectModelsAndDatasets) {
  const PipelineConfig c = config();
  const Plan plan = make_plan(c, workspace(), {split_names("m1"), split_names("d2")});
  ASSERT_EQ(plan.jobs.size(), 4u);
  for (const Job& j : plan.jobs) {
    EXPECT_EQ(j.model->name, "m1");
    if (j.kind == JobKind::Evaluate) {
      EXPECT_EQ(j.dataset->name, "d2");
    }
  }
  EXPECT_THROW(make_plan(c, workspace(), {{"nope"}, {}}), Error);
  EXPECT_THROW(make_plan(c, workspace(), {{}, {"nope"}}), Error);
  EXPECT_EQ(split_names(" a, b,,c "), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(PipelinePlanTest, FingerprintsFollowSourcePlanAndDataset) {
  const PipelineConfig c1 = config();
  const Plan p1 = make_plan(c1, workspace(), {});
  EXPECT_EQ(p1.jobs[0].fingerprint, make_plan(c1, workspace(), {}).jobs[0].fingerprint);  // stable
  EXPECT_NE(p1.jobs[0].fingerprint, p1.jobs[1].fingerprint);                              // other scheme
  auto eval_fp = [](const Plan& p, const std::string& id) {
    for (const Job& j : p.jobs)
      if (j.id == id) return j.fingerprint;
    return std::string();
  };
  const std::string before = eval_fp(p1, "eval.m1.q8_sym_ch.d1");
  std::ofstream(dir_.path() / "d1.jsonl", std::ios::app) << R"({"text": "a bird", "label": "LABEL_0"})"
                                                         << "\n";
  const PipelineConfig c2 = config();
  const Plan p2 = make_plan(c2, workspace(), {});
  EXPECT_NE(eval_fp(p2, "eval.m1.q8_sym_ch.d1"), before);                               // dataset changed
  EXPECT_EQ(eval_fp(p2, "eval.m1.q8_sym_ch.d2"), eval_fp(p1, "eval.m1.q8_sym_ch.d2"));  // d2 did not
  EXPECT_EQ(p2.jobs[0].fingerprint, p1.jobs[0].fingerprint);  // conversions do not depend on datasets
}

// Issue 10: two entries with the same scheme gave two jobs with one id, one
// directory and one state file (one gate setting silently lost).
TEST_F(PipelinePlanTest, DuplicateQuantizationIsRefusedNamingFileAndModel) {
  write_config(R"(models:
  - name: m1
    path: m1
    task: classification
    quantization:
      - {bits: 8, scheme: sym, per_channel: true, max_accuracy_drop: 0.01}
      - {bits: 8, scheme: sym, per_channel: true, max_accuracy_drop: 0.03}
    benchmarks: [d1]
datasets:
  - {name: d1, provider: local, path: d1.jsonl, metrics: [accuracy]}
)");
  const PipelineConfig c = config();
  const std::string file = (dir_.path() / "c.yaml").string();
  try {
    make_plan(c, workspace(), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(
        message.find(file + ":7: model 'm1' lists quantization q8_sym_ch twice (first at " + file + ":6)"),
        std::string::npos)
        << message;
  }
  // Different schemes of one model are fine.
  write_config(R"(models:
  - {name: m1, path: m1, task: classification, quantization: [{bits: 8}, {bits: 4}], benchmarks: [d1]}
datasets:
  - {name: d1, provider: local, path: d1.jsonl, metrics: [accuracy]}
)");
  const PipelineConfig ok = config();
  EXPECT_EQ(make_plan(ok, workspace(), {}).count(JobKind::Convert), 2u);
}

// Issue 10: after --limit 20 a full run skipped everything and kept the 20-row
// results; the dry run's eval commands left --limit out.
TEST_F(PipelinePlanTest, RowLimitIsPartOfTheEvaluationFingerprintAndCommand) {
  const PipelineConfig c = config();
  const Plan full = make_plan(c, workspace(), {});
  PlanFilter quick;
  quick.limit = 20;
  const Plan limited = make_plan(c, workspace(), quick);
  ASSERT_EQ(full.jobs.size(), limited.jobs.size());
  for (size_t i = 0; i < full.jobs.size(); ++i) {
    const Job &a = full.jobs[i], &b = limited.jobs[i];
    if (a.fingerprint.empty()) continue;  // the uncached hub model
    if (a.kind == JobKind::Convert) {
      EXPECT_EQ(a.fingerprint, b.fingerprint) << a.id;  // the model does not depend on rows
    } else {
      EXPECT_NE(a.fingerprint, b.fingerprint) << a.id;
      EXPECT_FALSE(a.limit) << a.id;
      EXPECT_EQ(b.limit, 20) << b.id;
      EXPECT_EQ(a.command.find("--limit"), std::string::npos) << a.command;
      EXPECT_NE(b.command.find(" --limit 20"), std::string::npos) << b.command;
      EXPECT_EQ(b.conversion_id, "convert." + b.model->name + "." + b.quant);
    }
  }
  quick.limit = 0;
  EXPECT_THROW(make_plan(c, workspace(), quick), Error);
  quick.limit = -5;
  EXPECT_THROW(make_plan(c, workspace(), quick), Error);
}

TEST(PipelineRowLimit, TheSmallerOfTheDatasetsLimitAndTheCap) {
  DatasetConfig d;
  EXPECT_FALSE(row_limit(d, std::nullopt));
  EXPECT_EQ(row_limit(d, 20), 20);
  d.limit = 5;
  EXPECT_EQ(row_limit(d, std::nullopt), 5);
  EXPECT_EQ(row_limit(d, 20), 5);
  EXPECT_EQ(row_limit(d, 3), 3);
}

TEST_F(PipelinePlanTest, UpToDateNeedsDoneStateSameFingerprintAndOutput) {
  const PipelineConfig c = config();
  const Workspace ws = workspace();
  ws.create_layout();
  const Plan plan = make_plan(c, ws, {});
  const Job& job = plan.jobs[0];
  EXPECT_FALSE(is_up_to_date(job, ws));  // nothing there
  JobState done{job.id, JobStatus::Done, job.fingerprint, 1, 2, ""};
  write_job_state(ws, done);
  EXPECT_FALSE(is_up_to_date(job, ws));  // state, but no output
  write_converted_output(job);
  done.output_files = list_output_files(job.output);
  write_job_state(ws, done);
  EXPECT_TRUE(is_up_to_date(job, ws));
  write_job_state(ws, {job.id, JobStatus::Done, "other", 1, 2, ""});
  EXPECT_FALSE(is_up_to_date(job, ws));  // inputs changed since
  write_job_state(ws, {job.id, JobStatus::Failed, job.fingerprint, 1, 2, "boom"});
  EXPECT_FALSE(is_up_to_date(job, ws));
}

TEST(PipelineWorkspace, RootFromEnvironment) {
  {
    ScopedEnv a("QUANTPIPE_TEMP_DIR", "/x/qp"), b("MLX_TEMP_DIR", "/x/mlx");
    EXPECT_EQ(Workspace::from_environment().root(), "/x/qp");
  }
  {
    ScopedEnv a("QUANTPIPE_TEMP_DIR", nullptr), b("MLX_TEMP_DIR", "/x/mlx");
    EXPECT_EQ(Workspace::from_environment().root(), "/x/mlx");
  }
  {
    ScopedEnv a("QUANTPIPE_TEMP_DIR", nullptr), b("MLX_TEMP_DIR", nullptr), c("TMPDIR", "/x/tmp");
    EXPECT_EQ(Workspace::from_environment().root(), "/x/tmp/quantpipe");
  }
  {
    ScopedEnv a("QUANTPIPE_TEMP_DIR", nullptr), b("MLX_TEMP_DIR", nullptr), c("TMPDIR", nullptr);
    EXPECT_EQ(Workspace::from_environment().root(), "/tmp/quantpipe");
  }
}

TEST(PipelineWorkspace, LayoutAndFileNames) {
  test::TempDir dir;
  const Workspace ws(dir.path() / "ws");
  ws.create_layout();
  for (const char* sub : {"logs", "models", "results", "test_results", "comparisons", "state"})
    EXPECT_TRUE(fs::is_directory(ws.root() / sub)) << sub;
  EXPECT_EQ(ws.conversion_results("m"), ws.root() / "results" / "m_conversion.json");
  EXPECT_EQ(ws.test_results("m", "q8_sym_ch"), ws.root() / "test_results" / "m_q8_sym_ch_results.json");
  EXPECT_EQ(ws.comparison("m"), ws.root() / "comparisons" / "m_comparison.json");
  EXPECT_EQ(ws.log_file("m"), ws.root() / "logs" / "conversion_m.log");
  EXPECT_EQ(ws.log_file(""), ws.root() / "logs" / "quantpipe.log");
  // A workspace under a regular file cannot be made, and the error names it.
  std::ofstream(dir.path() / "file") << "x";
  try {
    Workspace(dir.path() / "file" / "ws").create_layout();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir.path() / "file").string()), std::string::npos) << e.what();
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(PipelineWorkspace, LogsWithAndWithoutModelName) {
  test::TempDir dir;
  const Workspace ws(dir.path() / "ws");
  JobLog with_model(ws, "m1"), without(ws, "");
  EXPECT_FALSE(fs::exists(with_model.path()));  // nothing written, nothing created
  with_model.line("converting m1");
  without.line("planning");
  with_model.line("done m1");
  const std::string model_log = read_text(ws.root() / "logs" / "conversion_m1.log");
  EXPECT_NE(model_log.find("converting m1\n"), std::string::npos);
  EXPECT_NE(model_log.find("done m1\n"), std::string::npos);
  EXPECT_EQ(model_log.find("planning"), std::string::npos);
  const std::string general = read_text(ws.root() / "logs" / "quantpipe.log");
  EXPECT_NE(general.find("planning"), std::string::npos);
  // Each line starts with a timestamp "YYYY-MM-DD HH:MM:SS ".
  EXPECT_EQ(general[4], '-');
  EXPECT_EQ(general[19], ' ');
}

TEST(PipelineProgress, EtaFromDurationsOfJobsThatRan) {
  EXPECT_FALSE(estimate_eta(3, {}, 1).has_value());
  EXPECT_DOUBLE_EQ(*estimate_eta(0, {}, 1), 0.0);
  EXPECT_DOUBLE_EQ(*estimate_eta(3, {10, 20}, 1), 45.0);  // mean 15 × 3
  EXPECT_DOUBLE_EQ(*estimate_eta(3, {10, 20}, 2), 30.0);  // ⌈3/2⌉ rounds × 15
  EXPECT_EQ(format_duration(42), "42 s");
  EXPECT_EQ(format_duration(185), "3:05");
  EXPECT_EQ(format_duration(3727), "1:02:07");
}

TEST(PipelineProgress, PlainLinesWhenNotATerminal) {
  std::ostringstream out;
  ProgressBar bar(3, 1, false, out);
  bar.started("convert m q8");
  EXPECT_EQ(out.str(), "");  // plain mode prints finished jobs only
  bar.finished("convert m q8", JobStatus::Done, 10);
  bar.finished("eval m q8 d", JobStatus::Skipped, 0);
  bar.finished("eval m q4 d", JobStatus::Failed, 4);
  EXPECT_EQ(out.str(),
            "[1/3] done convert m q8 (10 s), ETA 20 s\n"
            "[2/3] skipped eval m q8 d, ETA 10 s\n"
            "[3/3] failed eval m q4 d (4 s)\n");
}

TEST(PipelineProgress, BarRedrawsOnATerminal) {
  std::ostringstream out;
  ProgressBar bar(2, 1, true, out);
  bar.finished("convert m q8", JobStatus::Done, 5);
  bar.close();
  EXPECT_NE(out.str().find("\r\033[K[############------------]   1/2  convert m q8  ETA 5 s"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(PipelineMonitor, SnapshotCountsStatesAndEstimates) {
  test::TempDir dir;
  const Workspace ws(dir.path() / "ws");
  ws.create_layout();
  EXPECT_FALSE(snapshot_run(ws).has_value());  // no run yet
  const double t0 = unix_now() - 100;
  write_run_state(ws, {static_cast<long long>(getpid()), t0, 0, 1, {"a", "b", "c", "d", "e"}});
  write_job_state(ws, {"a", JobStatus::Done, "f", t0 + 1, t0 + 21, ""});
  write_job_state(ws, {"b", JobStatus::Failed, "", t0 + 21, t0 + 31, "no such model"});
  write_job_state(ws, {"c", JobStatus::Running, "", t0 + 31, 0, ""});
  write_job_state(ws, {"d", JobStatus::Done, "f", t0 - 500, t0 - 400, ""});  // the last run's: still to come
  // e has no state file yet: pending.
  const RunSnapshot s = *snapshot_run(ws);
  EXPECT_EQ(s.total, 5);
  EXPECT_EQ(s.done, 1);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.running, 1);
  EXPECT_EQ(s.pending, 2);
  EXPECT_FALSE(s.finished);
  EXPECT_FALSE(s.process_gone);  // our own pid
  ASSERT_TRUE(s.eta.has_value());
  EXPECT_DOUBLE_EQ(*s.eta, 45.0);  // 3 left × mean(20, 10)
  const std::string text = format_snapshot(s);
  EXPECT_NE(text.find("2/5 jobs"), std::string::npos) << text;
  EXPECT_NE(text.find("FAILED   b: no such model"), std::string::npos) << text;
  EXPECT_NE(text.find("running  c (running"), std::string::npos) << text;
}

TEST(PipelineMonitor, FinishedAndVanishedRuns) {
  test::TempDir dir;
  const Workspace ws(dir.path() / "ws");
  ws.create_layout();
  const double t0 = unix_now() - 10;
  write_run_state(ws, {static_cast<long long>(getpid()), t0, t0 + 5, 1, {"a"}});
  write_job_state(ws, {"a", JobStatus::Done, "f", t0, t0 + 5, ""});
  RunSnapshot s = *snapshot_run(ws);
  EXPECT_TRUE(s.finished);
  EXPECT_NEAR(s.elapsed, 5, 1e-6);
  EXPECT_NE(format_snapshot(s).find("finished after 5 s: 1/1 jobs"), std::string::npos) << format_snapshot(s);
  // An unfinished run whose process is gone (killed) is reported as stopped.
  write_run_state(ws, {999999999, t0, 0, 1, {"a"}});
  s = *snapshot_run(ws);
  EXPECT_TRUE(s.process_gone);
  EXPECT_NE(format_snapshot(s).find("stopped"), std::string::npos);
  // A half-written state file does not crash the monitor.
  std::ofstream(ws.job_state("a")) << "{\"status\": ";
  EXPECT_EQ(snapshot_run(ws)->pending, 1);
}

TEST(HubCache, FindsSnapshotOfRefsMainElseNewest) {
  test::TempDir dir;
  const fs::path repo = dir.path() / "models--org--name";
  EXPECT_FALSE(find_cached_hub_model("org/name", dir.path()).has_value());
  fs::create_directories(repo / "snapshots" / "abc");
  fs::create_directories(repo / "snapshots" / "def");
  std::ofstream(repo / "snapshots" / "abc" / "config.json") << "{}";
  EXPECT_EQ(*find_cached_hub_model("org/name", dir.path()), repo / "snapshots" / "abc");
  std::ofstream(repo / "snapshots" / "def" / "config.json") << "{}";
  fs::create_directories(repo / "refs");
  std::ofstream(repo / "refs" / "main") << "def\n";
  EXPECT_EQ(*find_cached_hub_model("org/name", dir.path()), repo / "snapshots" / "def");
  const std::string message = hub_model_missing_message("org/other", dir.path());
  EXPECT_NE(message.find((dir.path() / "models--org--other").string()), std::string::npos) << message;
  {
    ScopedEnv a("HF_HUB_CACHE", "/h/cache"), b("HF_HOME", "/h/home");
    EXPECT_EQ(hub_cache_root(), "/h/cache");
  }
  {
    ScopedEnv a("HF_HUB_CACHE", nullptr), b("HF_HOME", "/h/home");
    EXPECT_EQ(hub_cache_root(), "/h/home/hub");
  }
}

}  // namespace
}  // namespace qp::pipeline
