#include "pipeline/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <system_error>
#include <thread>

#include "api/convert.h"
#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/log.h"
#include "eval/compression_metrics.h"
#include "eval/report.h"
#include "pipeline/dataset_source.h"
#include "pipeline/job_state.h"
#include "pipeline/progress.h"
#include "quant/convert.h"

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
  options.method = effective_method(*job.quantization);
  return options;
}

// Shared state of one run: the workspace, its logs and the progress display.
class RunContext {
 public:
  RunContext(const Plan& plan, const Workspace& workspace, const PipelineOptions& options, SkipCheck skips)
      : workspace_(workspace),
        options_(options),
        progress_(static_cast<int>(plan.jobs.size()), options.jobs, options.terminal, std::cerr),
        skips_(std::move(skips)) {
    for (const Job& job : plan.jobs)
      if (!logs_.count(job.model->name))
        logs_[job.model->name] = std::make_unique<JobLog>(workspace, job.model->name);
  }

  JobLog& log(const Job& job) { return *logs_.at(job.model->name); }
  // Decided once before the run starts, while the states of the last run are still there.
  bool up_to_date(const Job& job) const { return skips_.up_to_date.count(job.id) > 0; }
  // Why a job with a finished result runs again ("" when there is nothing to say).
  std::string rerun_reason(const Job& job) const {
    const auto it = skips_.reruns.find(job.id);
    return it == skips_.reruns.end() ? "" : it->second;
  }

  void start(const Job& job) {
    write_job_state(workspace_, {job.id, JobStatus::Running, "", unix_now(), 0, ""});
    if (const std::string why = rerun_reason(job); !why.empty())
      log(job).line(cat("rerun ", describe(job), ": ", why));
    log(job).line(cat("start ", describe(job)));
    progress_.started(describe(job));
  }

  // output_files: a finished conversion's files, checked before it is skipped next time.
  void finish(const Job& job, JobStatus status, double started, const std::string& error = "",
              std::map<std::string, int64_t> output_files = {}) {
    const double now = unix_now();
    JobState state{job.id, status, status == JobStatus::Done ? job.fingerprint : "", started, now, error};
    state.output_files = std::move(output_files);
    write_job_state(workspace_, state);
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

  // Counts an evaluation whose gates did not all pass (once) and lists each failed gate.
  // `note` says where a verdict kept from an earlier run comes from.
  void verdict(const Job& job, const nlohmann::json& entry, const std::string& note = "") {
    if (entry.value("passed", false)) return;
    std::vector<std::string> details;
    if (const auto gates = entry.find("gates"); gates != entry.end() && gates->is_array())
      for (const auto& gate : *gates)
        if (gate.is_object() && !gate.value("passed", true))
          details.push_back(cat(gate.value("name", "gate"), ": ", gate.value("detail", "failed")));
    if (details.empty()) details.push_back("a quality gate failed");
    std::lock_guard<std::mutex> lock(mutex_);
    ++outcome_.gates_failed;
    for (const std::string& detail : details) outcome_.problems.push_back(cat(job.id, ": ", detail, note));
  }

  // The state keeps the times of the run that produced the result; skipped_at says when it was reused.
  void skip(const Job& job) {
    log(job).line(cat("skip ", describe(job), " (unchanged since the last run; --no-skip reruns it)"));
    JobState state;
    state.id = job.id;
    if (std::optional<JobState> last = read_job_state(workspace_, job.id)) state = std::move(*last);
    state.status = JobStatus::Skipped;
    state.skipped_at = unix_now();
    write_job_state(workspace_, state);
    progress_.finished(describe(job), JobStatus::Skipped, 0);
    std::lock_guard<std::mutex> lock(mutex_);
    ++outcome_.skipped;
  }

  void close() { progress_.close(); }
  void add_jobs(int count) { progress_.add_jobs(count); }
  PipelineOutcome& outcome() { return outcome_; }
  const Workspace& workspace() const { return workspace_; }
  const PipelineOptions& options() const { return options_; }

 private:
  const Workspace& workspace_;
  const PipelineOptions& options_;
  ProgressBar progress_;
  SkipCheck skips_;
  std::map<std::string, std::unique_ptr<JobLog>> logs_;
  std::mutex mutex_;
  PipelineOutcome outcome_;
};

// The mixed-precision record of another bits: auto variant of the same model
// already in the workspace (its sensitivities are reused when they were
// measured the same way, see MixedPrecisionOptions::previous), or null.
nlohmann::json sibling_sensitivities(const Job& job) {
  std::error_code ec;
  const std::string prefix = job.model->name + "_mixed";
  for (const auto& entry : fs::directory_iterator(job.output.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path() == job.output || name.rfind(prefix, 0) != 0) continue;
    if (auto report = read_json_object(entry.path() / "quantpipe.json"))
      if (auto plan = report->find("plan"); plan != report->end() && plan->is_object())
        if (auto record = plan->find("mixed_precision"); record != plan->end() && record->is_object())
          return *record;
  }
  return nullptr;
}

// raise: a bits: auto conversion again after its gates failed, with the
// precision of its most sensitive units raised (api/mixed_plan.h). When no
// raise is possible the last conversion stays, and the reason is returned.
std::string run_conversion(const Job& job, RunContext& ctx, bool raise = false) {
  if (!raise && ctx.up_to_date(job)) {
    ctx.skip(job);
    return "";
  }
  const double started = unix_now();
  ctx.start(job);
  if (job.source.empty()) {
    ctx.finish(job, JobStatus::Failed, started, job.source_problem);
    return "";
  }
  try {
    JobLog& log = ctx.log(job);
    log.line(cat("  ", job.command, raise ? " (raising the precision of the most sensitive tensors)" : ""));
    const QuantizationConfig& q = *job.quantization;
    std::optional<CalibrationOptions> calibration;
    if (quant::needs_calibration(effective_method(q)) || q.automatic) {
      calibration = CalibrationOptions{.file = {},
                                       .texts = {},
                                       .step = job.calibration_step,
                                       .samples = job.model->calibration.samples,
                                       .max_length = job.model->calibration.max_length,
                                       .threads = ctx.options().eval.threads};
      if (job.calibration_dataset) {
        // A dataset that cannot be read (a hub dataset offline, a missing
        // file) or holds no text gives way to the shipped corpus, and the
        // step taken says why.
        try {
          calibration->texts = dataset_texts(*job.calibration_dataset, ctx.workspace().dataset_cache());
        } catch (const Error& e) {
          calibration->texts.clear();
          calibration->step = cat("shipped corpus (", job.calibration_step, " unavailable: ", e.what(), ")");
          log_warn("pipeline: ", job.model->name, " ", job.quant, ": calibrating on the ", calibration->step);
        }
      }
      log.line(cat("  calibrating on ", calibration->step, " (", calibration->samples, " rows)"));
    }
    std::optional<MixedPrecisionOptions> mixed;
    if (q.automatic) {
      mixed = MixedPrecisionOptions{};
      mixed->target_size_mb = q.target_size_mb;
      mixed->max_accuracy_drop = q.max_accuracy_drop;
      mixed->threads = ctx.options().eval.threads;
      mixed->raise = raise;
      if (raise) {
        if (auto last = read_json_object(job.output / "quantpipe.json"))
          mixed->previous = (*last)["plan"].value("mixed_precision", nlohmann::json());
      } else {
        mixed->previous = sibling_sensitivities(job);
      }
    }
    try {
      convert(
          job.source, job.output, convert_options(job),
          [&](int index, int total, const quant::ConvertedTensor& t) {
            log.line(cat("  [", index + 1, "/", total, "] ", t.plan.name, " ",
                         t.plan.scheme ? quant::format_scheme(*t.plan.scheme) : "keep", " ", t.stored_bytes,
                         " bytes"));
          },
          calibration, mixed);
    } catch (const Error& e) {
      if (!raise) throw;
      // The earlier conversion is still in place (written atomically): it stays the result.
      log.line(cat("  no raise: ", e.what(), "; the last plan stays"));
      ctx.finish(job, JobStatus::Done, started, "", list_output_files(job.output));
      return e.what();
    }
    ctx.finish(job, JobStatus::Done, started, "", list_output_files(job.output));
  } catch (const std::exception& e) {
    ctx.finish(job, JobStatus::Failed, started, e.what());
  }
  return "";
}

void run_conversions(const std::vector<const Job*>& jobs, RunContext& ctx) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < jobs.size();) run_conversion(*jobs[i], ctx);
  };
  // Every conversion runs off the main thread, even a single one: glibc gives
  // each thread its own heap arena, so what a conversion frees in scattered
  // pieces stays out of the main thread's heap, where the evaluations that
  // follow allocate their activations and measure their memory (the
  // fragments made one q4 model's peak RSS 8–15 MB higher than with the
  // conversion run in another process).
  const int workers = std::max(1, std::min<int>(ctx.options().jobs, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error& e) {
      // The jobs still all run, on the threads there are; an unjoinable
      // std::thread left behind would end the process in std::terminate.
      log_warn("pipeline: started ", w, " of ", workers, " conversion threads (", e.what(),
               "); going on with those");
      break;
    }
  }
  if (threads.empty()) worker();  // no thread could start: run them here
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

// A skipped evaluation's verdict is the stored one: a rerun reports the same
// failed gates (and exit status) as the run that produced them and the report.
void report_stored_verdict(const Job& job, RunContext& ctx) {
  const std::optional<nlohmann::json> entry = stored_evaluation(job, ctx.workspace());
  const std::optional<JobState> state = read_job_state(ctx.workspace(), job.id);
  const std::string when = state && state->finished > 0 ? cat(" of ", format_time(state->finished)) : "";
  if (entry && entry->is_object()) ctx.verdict(job, *entry, cat(" (stored result", when, ", unchanged)"));
}

// Verdicts of bits: auto variants wait until their raises are done
// (raise_failed_mixed_plans); `deferred` collects those evaluations.
void run_evaluations(const std::vector<const Job*>& jobs, const std::set<std::string>& failed_conversions,
                     RunContext& ctx, std::vector<const Job*>& deferred) {
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
        report_stored_verdict(job, ctx);
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
          if (r.job->quantization->automatic || r.job->quantization->finetune.enabled)
            deferred.push_back(r.job);
          else
            ctx.verdict(*r.job, *r.entry);
          ctx.finish(*r.job, JobStatus::Done, started[r.job->id]);
        });
  }
}

// The largest drop (fraction of the metric's scale) among the stored
// evaluations of `conversion`; nullopt when none is stored.
std::optional<double> largest_drop(const Job& conversion, const std::vector<const Job*>& evaluated,
                                   RunContext& ctx) {
  std::optional<double> largest;
  for (const Job* e : evaluated) {
    if (e->conversion_id != conversion.id) continue;
    const std::optional<nlohmann::json> entry = stored_evaluation(*e, ctx.workspace());
    if (!entry) continue;
    const nlohmann::json& comparison = entry->value("comparison", nlohmann::json::object());
    const double drop = comparison.value("accuracy_drop_points", 0.0) / 100.0;
    largest = std::max(largest.value_or(drop), drop);
  }
  return largest;
}

// Conversions with `finetune:` whose drop on some benchmark exceeds
// qat_threshold are fine-tuned (options.finetune) and evaluated again.
// Returns a note per conversion for its verdicts ("after fine-tuning: …").
std::map<std::string, std::string> finetune_dropped(const std::vector<const Job*>& conversions,
                                                    const std::vector<const Job*>& evaluated,
                                                    RunContext& ctx) {
  std::map<std::string, std::string> notes;
  for (const Job* convert : conversions) {
    const FinetuneConfig& f = convert->quantization->finetune;
    if (!f.enabled) continue;
    const std::optional<double> drop = largest_drop(*convert, evaluated, ctx);
    if (!drop || *drop <= f.qat_threshold) continue;
    if (auto report = read_json_object(convert->output / "quantpipe.json"))
      if (!(*report)["plan"].value("finetune", nlohmann::json()).is_null()) continue;  // fine-tuned already
    JobLog& log = ctx.log(*convert);
    if (!ctx.options().finetune) {
      log_warn("pipeline: ", convert->model->name, " ", convert->quant, " dropped ", *drop * 100,
               " points, above qat_threshold, but this build has no fine-tuning");
      notes[convert->id] = " (fine-tuning unavailable in this build)";
      continue;
    }
    log_info("pipeline: ", convert->model->name, " ", convert->quant, " dropped ", *drop * 100,
             " points (qat_threshold ", f.qat_threshold * 100, "): fine-tuning on the ",
             convert->finetune_step);
    ctx.add_jobs(1);
    const double started = unix_now();
    ctx.start(*convert);
    FinetuneRequest request;
    request.quantized = convert->output;
    request.text.step = convert->finetune_step;
    request.text.samples = f.samples;
    request.text.max_length = convert->model->calibration.max_length;
    request.text.threads = ctx.options().eval.threads;
    request.epochs = f.epochs;
    request.learning_rate = f.learning_rate;
    request.threads = ctx.options().eval.threads;
    if (convert->finetune_dataset) {
      try {
        request.text.texts = dataset_texts(*convert->finetune_dataset, ctx.workspace().dataset_cache());
      } catch (const Error& e) {
        request.text.texts.clear();
        request.text.step = cat("shipped corpus (", convert->finetune_step, " unavailable: ", e.what(), ")");
      }
    }
    if (request.text.texts.empty()) request.text.file = "corpus";
    log.line(cat("  fine-tuning on the ", request.text.step, " (", f.epochs, " epochs, drop ", *drop * 100,
                 " points > ", f.qat_threshold * 100, ")"));
    try {
      // Off the main thread, as every conversion (see run_conversions).
      std::exception_ptr failure;
      std::thread worker([&] {
        try {
          ctx.options().finetune(request);
        } catch (...) {
          failure = std::current_exception();
        }
      });
      worker.join();
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      // The converted model is unchanged (fine-tuning replaces it atomically): its verdict stands.
      ctx.finish(*convert, JobStatus::Failed, started, cat("fine-tuning failed: ", e.what()));
      notes[convert->id] = cat(" (fine-tuning failed: ", e.what(), ")");
      continue;
    }
    ctx.finish(*convert, JobStatus::Done, started, "", list_output_files(convert->output));
    std::vector<const Job*> again;
    std::map<std::string, nlohmann::json> before;  // evaluation id → its comparison as converted
    for (const Job* e : evaluated)
      if (e->conversion_id == convert->id) {
        again.push_back(e);
        if (auto entry = stored_evaluation(*e, ctx.workspace())) before[e->id] = (*entry)["comparison"];
      }
    ctx.add_jobs(static_cast<int>(again.size()));
    std::vector<const Job*> rerun;
    run_evaluations(again, {}, ctx, rerun);
    // The compression metrics compare the model as converted with the fine-tuned one.
    for (const Job* e : again)
      if (auto entry = stored_evaluation(*e, ctx.workspace()); entry && before.count(e->id)) {
        (*entry)["before_finetune"] = before[e->id];
        store_entry(*e, *entry, ctx.workspace());
      }
    const std::optional<double> after = largest_drop(*convert, evaluated, ctx);
    notes[convert->id] = cat(" (after fine-tuning: largest drop ", *drop * 100, " → ",
                             after ? *after * 100 : *drop * 100, " points)");
  }
  return notes;
}

// bits: auto variants whose gates failed are converted again with the
// precision of their most sensitive units raised, and evaluated again, up to
// max_raises times; then their verdicts are counted.
void raise_failed_mixed_plans(const std::vector<const Job*>& conversions, std::vector<const Job*> evaluated,
                              RunContext& ctx, std::map<std::string, std::string> notes = {}) {
  std::map<std::string, int> raises;
  std::map<std::string, std::string> stopped;  // conversion id → why no further raise was possible
  auto passed = [&](const Job* job) {
    const std::optional<nlohmann::json> entry = stored_evaluation(*job, ctx.workspace());
    return entry && entry->value("passed", false);
  };
  while (true) {
    std::vector<const Job*> to_raise;
    for (const Job* convert : conversions) {
      if (!convert->quantization->automatic || stopped.count(convert->id) ||
          raises[convert->id] >= convert->quantization->max_raises)
        continue;
      const bool failing = std::any_of(evaluated.begin(), evaluated.end(), [&](const Job* e) {
        return e->conversion_id == convert->id && !passed(e);
      });
      if (failing) to_raise.push_back(convert);
    }
    if (to_raise.empty()) break;
    std::vector<const Job*> again;
    for (const Job* convert : to_raise) {
      log_info("pipeline: ", convert->model->name, " ", convert->quant,
               " failed a gate: raising the precision of ", "its most sensitive tensors (",
               raises[convert->id] + 1, " of at most ", convert->quantization->max_raises, ")");
      ctx.add_jobs(1);
      // Off the main thread, as every conversion (see run_conversions).
      std::string why;
      std::thread worker([&] { why = run_conversion(*convert, ctx, true); });
      worker.join();
      if (!why.empty()) {
        stopped[convert->id] = why;
        continue;
      }
      ++raises[convert->id];
      for (const Job* e : evaluated)
        if (e->conversion_id == convert->id) again.push_back(e);
    }
    if (again.empty()) continue;
    ctx.add_jobs(static_cast<int>(again.size()));
    std::vector<const Job*> rerun;
    run_evaluations(again, {}, ctx, rerun);
  }
  std::set<const Job*> unique(evaluated.begin(), evaluated.end());
  for (const Job* e : unique) {
    const std::optional<nlohmann::json> entry = stored_evaluation(*e, ctx.workspace());
    if (!entry) continue;
    std::string note = notes[e->conversion_id];
    if (raises[e->conversion_id] > 0)
      note = cat(" (after ", raises[e->conversion_id], " precision raise(s))");
    if (auto it = stopped.find(e->conversion_id); it != stopped.end()) note += cat(" (", it->second, ")");
    ctx.verdict(*e, *entry, note);
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
             {"note", job.model->note},
             {"tool", {{"version", kVersion}, {"commit", kGitCommit}, {"isa", isa_name(active_isa())}}},
             {"config_files", plan.config_files},
             {"entries", nlohmann::json::array()}};
    }
    std::optional<nlohmann::json> entry = stored_evaluation(job, workspace);
    if (!entry) continue;
    if (auto conversion = read_json_object(job.output / "quantpipe.json"))
      (*entry)["conversion"] = *conversion;
    (*entry)["compression_metrics"] = eval::compression_metrics(*entry);
    doc["entries"].push_back(*entry);
  }
  for (const auto& [model, doc] : docs) {
    if (doc["entries"].empty()) continue;
    write_json_file(workspace.comparison(model), doc);
    std::string lines;
    for (const auto& entry : doc["entries"]) {
      nlohmann::json line = {{"model", model},
                             {"quantization", entry.value("quantization", "")},
                             {"dataset", entry.value("dataset", "")}};
      line.update(entry["compression_metrics"]);
      lines += line.dump() + "\n";
    }
    write_file_atomic(workspace.compression_metrics(model), lines);
  }
}

}  // namespace

PipelineOutcome run_pipeline(const Plan& plan, const Workspace& workspace, const PipelineOptions& options) {
  workspace.create_layout();
  RunState run{static_cast<long long>(getpid()), unix_now(), 0, options.jobs, {}};
  SkipCheck skips = options.skip ? check_skips(plan, workspace) : SkipCheck{};
  for (const Job& job : plan.jobs) {
    run.job_ids.push_back(job.id);
    if (!skips.up_to_date.count(job.id))
      write_job_state(workspace, {job.id, JobStatus::Pending, "", 0, 0, ""});
  }
  write_run_state(workspace, run);

  RunContext ctx(plan, workspace, options, std::move(skips));
  std::vector<const Job*> conversions, evaluations;
  for (const Job& job : plan.jobs) (job.kind == JobKind::Convert ? conversions : evaluations).push_back(&job);
  run_conversions(conversions, ctx);
  write_conversion_results(conversions, workspace);
  std::set<std::string> failed;
  for (const Job* job : conversions)
    if (auto s = read_job_state(workspace, job->id); s && s->status == JobStatus::Failed)
      failed.insert(job->id);
  std::vector<const Job*> deferred;
  run_evaluations(evaluations, failed, ctx, deferred);
  std::map<std::string, std::string> finetuned = finetune_dropped(conversions, deferred, ctx);
  raise_failed_mixed_plans(conversions, deferred, ctx, std::move(finetuned));
  write_conversion_results(conversions, workspace);
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
