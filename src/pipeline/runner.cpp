#include "pipeline/runner.h"

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/json_file.h"
#include "eval/report.h"
#include "pipeline/job_state.h"
#include "pipeline/progress.h"
#include "quant/convert.h"
#include "quantpipe/quantize.h"

namespace qp::pipeline {
namespace fs = std::filesystem;
namespace {

void write_json_file(const fs::path& path, const nlohmann::json& doc) {
  write_file_atomic(path, doc.dump(2) + "\n");
}

std::string describe(const Job& job) {
  if (job.kind == JobKind::Convert) return cat("convert ", job.model->name, " ", job.quant);
  return cat("eval ", job.model->name, " ", job.quant, " ", job.dataset->name);
}

quant::ConvertOptions convert_options(const Job& job) {
  quant::ConvertOptions options;
  options.plan.linear = resolve_scheme(*job.quantization);
  options.force = true;  // the workspace copy is ours; StagingDir keeps the old one until the new one is done
  options.target_size_mb = job.quantization->target_size_mb;
  return options;
}

// Shared state of one run: the workspace, its logs and the progress display.
class RunContext {
 public:
  RunContext(const Plan& plan, const Workspace& workspace, const PipelineOptions& options,
             std::set<std::string> up_to_date)
      : workspace_(workspace),
        options_(options),
        progress_(static_cast<int>(plan.jobs.size()), options.jobs, options.terminal, std::cerr),
        up_to_date_(std::move(up_to_date)) {
    for (const Job& job : plan.jobs)
      if (!logs_.count(job.model->name))
        logs_[job.model->name] = std::make_unique<JobLog>(workspace, job.model->name);
  }

  JobLog& log(const Job& job) { return *logs_.at(job.model->name); }
  // Decided once before the run starts, while the states of the last run are still there.
  bool up_to_date(const Job& job) const { return up_to_date_.count(job.id) > 0; }

  void start(const Job& job) {
    write_job_state(workspace_, {job.id, JobStatus::Running, "", unix_now(), 0, ""});
    log(job).line(cat("start ", describe(job)));
    progress_.started(describe(job));
  }

  void finish(const Job& job, JobStatus status, double started, const std::string& error = "") {
    const double now = unix_now();
    write_job_state(workspace_,
                    {job.id, status, status == JobStatus::Done ? job.fingerprint : "", started, now, error});
    log(job).line(cat(to_string(status), " ", describe(job), error.empty() ? "" : ": " + error));
    progress_.finished(describe(job), status, started > 0 ? now - started : 0);
    std::lock_guard<std::mutex> lock(mutex_);
    if (status == JobStatus::Done) ++outcome_.done;
    if (status == JobStatus::Skipped) ++outcome_.skipped;
    if (status == JobStatus::Failed) {
      ++outcome_.failed;
      outcome_.problems.push_back(cat(job.id, ": ", error));
    }
  }

  void gate_failed(const Job& job, const std::string& detail) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++outcome_.gates_failed;
    outcome_.problems.push_back(cat(job.id, ": ", detail));
  }

  void skip(const Job& job) {
    log(job).line(cat("skip ", describe(job), " (unchanged since the last run; --no-skip reruns it)"));
    write_job_state(workspace_, {job.id, JobStatus::Skipped, job.fingerprint, 0, unix_now(), ""});
    progress_.finished(describe(job), JobStatus::Skipped, 0);
    std::lock_guard<std::mutex> lock(mutex_);
    ++outcome_.skipped;
  }

  void close() { progress_.close(); }
  PipelineOutcome& outcome() { return outcome_; }
  const Workspace& workspace() const { return workspace_; }
  const PipelineOptions& options() const { return options_; }

 private:
  const Workspace& workspace_;
  const PipelineOptions& options_;
  ProgressBar progress_;
  std::set<std::string> up_to_date_;
  std::map<std::string, std::unique_ptr<JobLog>> logs_;
  std::mutex mutex_;
  PipelineOutcome outcome_;
};

void run_conversion(const Job& job, RunContext& ctx) {
  if (ctx.up_to_date(job)) return ctx.skip(job);
  const double started = unix_now();
  ctx.start(job);
  if (job.source.empty()) return ctx.finish(job, JobStatus::Failed, started, job.source_problem);
  try {
    JobLog& log = ctx.log(job);
    log.line(cat("  ", job.command));
    convert(job.source, job.output, convert_options(job),
            [&](int index, int total, const quant::ConvertedTensor& t) {
              log.line(cat("  [", index + 1, "/", total, "] ", t.plan.name, " ",
                           t.plan.scheme ? quant::format_scheme(*t.plan.scheme) : "keep", " ", t.stored_bytes,
                           " bytes"));
            });
    ctx.finish(job, JobStatus::Done, started);
  } catch (const std::exception& e) {
    ctx.finish(job, JobStatus::Failed, started, e.what());
  }
}

void run_conversions(const std::vector<const Job*>& jobs, RunContext& ctx) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < jobs.size();) run_conversion(*jobs[i], ctx);
  };
  const int workers = std::max(1, std::min<int>(ctx.options().jobs, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
}

// results/<model>_conversion.json: every conversion of the model, with its quantpipe.json.
void write_conversion_results(const std::vector<const Job*>& conversions, const Workspace& workspace) {
  std::map<std::string, nlohmann::json> docs;
  for (const Job* job : conversions) {
    nlohmann::json& doc = docs[job->model->name];
    doc["model"] = job->model->name;
    doc["source"] = job->source.empty() ? job->model->hf_name : job->source.string();
    const std::optional<JobState> state = read_job_state(workspace, job->id);
    nlohmann::json entry = {
        {"quantization", job->quant},         {"path", job->output.string()},
        {"fingerprint", job->fingerprint},    {"status", state ? to_string(state->status) : "pending"},
        {"error", state ? state->error : ""}, {"command", job->command}};
    if (auto report = read_json_object(job->output / "quantpipe.json")) entry["report"] = *report;
    doc["conversions"].push_back(entry);
  }
  for (const auto& [model, doc] : docs) write_json_file(workspace.conversion_results(model), doc);
}

// Stores one evaluation entry in test_results/<model>_<quant>_results.json, keeping the others.
void store_entry(const Job& job, const nlohmann::json& entry, const Workspace& workspace) {
  const fs::path path = workspace.test_results(job.model->name, job.quant);
  nlohmann::json doc = read_json_object(path).value_or(nlohmann::json::object());
  doc["model"] = job.model->name;
  doc["quantization"] = job.quant;
  doc["datasets"][job.dataset->name] = entry;
  write_json_file(path, doc);
}

std::optional<nlohmann::json> stored_entry(const Job& job, const Workspace& workspace) {
  const std::optional<nlohmann::json> doc =
      read_json_object(workspace.test_results(job.model->name, job.quant));
  if (!doc || !doc->contains("datasets") || !(*doc)["datasets"].contains(job.dataset->name))
    return std::nullopt;
  return (*doc)["datasets"][job.dataset->name];
}

void run_evaluations(const std::vector<const Job*>& jobs, const std::set<std::string>& failed_conversions,
                     RunContext& ctx) {
  std::map<std::string, double> started;
  for (size_t begin = 0; begin < jobs.size();) {
    size_t end = begin;
    while (end < jobs.size() && jobs[end]->model == jobs[begin]->model &&
           jobs[end]->dataset == jobs[begin]->dataset)
      ++end;
    std::vector<const Job*> to_run;
    for (size_t i = begin; i < end; ++i) {
      const Job& job = *jobs[i];
      const std::string convert_id = cat("convert.", job.model->name, ".", job.quant);
      if (failed_conversions.count(convert_id)) {
        ctx.finish(job, JobStatus::Failed, 0, cat("not evaluated: ", convert_id, " failed"));
      } else if (ctx.up_to_date(job)) {
        ctx.skip(job);
      } else {
        to_run.push_back(&job);
      }
    }
    begin = end;
    if (to_run.empty()) continue;
    evaluate_group(
        to_run, ctx.options().eval,
        [&](const Job& job) {
          started[job.id] = unix_now();
          ctx.start(job);
        },
        [&](const EvalStepResult& r) {
          if (!r.entry) return ctx.finish(*r.job, JobStatus::Failed, started[r.job->id], r.error);
          store_entry(*r.job, *r.entry, ctx.workspace());
          if (!r.entry->value("passed", false))
            for (const auto& gate : (*r.entry)["gates"])
              if (!gate.value("passed", true)) ctx.gate_failed(*r.job, gate.value("detail", "gate failed"));
          ctx.finish(*r.job, JobStatus::Done, started[r.job->id]);
        });
  }
}

// comparisons/<model>_comparison.json from the stored entries of every
// evaluation in the plan (run now or kept from an earlier run).
void write_comparisons(const Plan& plan, const Workspace& workspace) {
  std::map<std::string, nlohmann::json> docs;
  for (const Job& job : plan.jobs) {
    if (job.kind != JobKind::Evaluate) continue;
    nlohmann::json& doc = docs[job.model->name];
    if (doc.is_null()) {
      doc = {{"model", job.model->name},
             {"source", job.source.empty() ? job.model->hf_name : job.source.string()},
             {"task", to_string(job.model->task)},
             {"tool", {{"version", kVersion}, {"commit", kGitCommit}, {"isa", isa_name(active_isa())}}},
             {"config_files", plan.config_files},
             {"entries", nlohmann::json::array()}};
    }
    std::optional<nlohmann::json> entry = stored_entry(job, workspace);
    if (!entry) continue;
    if (auto conversion = read_json_object(job.output / "quantpipe.json"))
      (*entry)["conversion"] = *conversion;
    doc["entries"].push_back(*entry);
  }
  for (const auto& [model, doc] : docs)
    if (!doc["entries"].empty()) write_json_file(workspace.comparison(model), doc);
}

}  // namespace

bool is_up_to_date(const Job& job, const Workspace& workspace) {
  if (job.fingerprint.empty()) return false;
  const std::optional<JobState> state = read_job_state(workspace, job.id);
  if (!state || state->fingerprint != job.fingerprint) return false;
  if (state->status != JobStatus::Done && state->status != JobStatus::Skipped) return false;
  if (job.kind == JobKind::Convert) return fs::exists(job.output / "quantpipe.json");
  const std::optional<nlohmann::json> entry = stored_entry(job, workspace);
  return entry && entry->value("fingerprint", "") == job.fingerprint;
}

PipelineOutcome run_pipeline(const Plan& plan, const Workspace& workspace, const PipelineOptions& options) {
  workspace.create_layout();
  RunState run{static_cast<long long>(getpid()), unix_now(), 0, options.jobs, {}};
  std::set<std::string> up_to_date;
  for (const Job& job : plan.jobs) {
    run.job_ids.push_back(job.id);
    if (options.skip && is_up_to_date(job, workspace)) {
      up_to_date.insert(job.id);
    } else {
      write_job_state(workspace, {job.id, JobStatus::Pending, "", 0, 0, ""});
    }
  }
  write_run_state(workspace, run);

  RunContext ctx(plan, workspace, options, std::move(up_to_date));
  std::vector<const Job*> conversions, evaluations;
  for (const Job& job : plan.jobs) (job.kind == JobKind::Convert ? conversions : evaluations).push_back(&job);
  run_conversions(conversions, ctx);
  write_conversion_results(conversions, workspace);
  std::set<std::string> failed;
  for (const Job* job : conversions)
    if (auto s = read_job_state(workspace, job->id); s && s->status == JobStatus::Failed)
      failed.insert(job->id);
  run_evaluations(evaluations, failed, ctx);
  ctx.close();

  write_comparisons(plan, workspace);
  PipelineOutcome outcome = ctx.outcome();
  if (fs::exists(workspace.comparisons_dir()) && !fs::is_empty(workspace.comparisons_dir())) {
    const eval::ReportFiles files = eval::write_reports(workspace.root());
    outcome.report_markdown = files.markdown;
    outcome.report_html = files.html;
  }
  run.finished = unix_now();
  write_run_state(workspace, run);
  return outcome;
}

}  // namespace qp::pipeline
