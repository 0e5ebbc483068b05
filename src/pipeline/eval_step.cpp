#include "pipeline/eval_step.h"

#include <chrono>

#include "core/error.h"
#include "eval/evaluate.h"
#include "eval/stats.h"
#include "pipeline/dataset_source.h"
#include "quantpipe/heap_tuning.h"

namespace qp::pipeline {
namespace {

// The model's task and what the dataset holds decide how it is scored.
eval::EvalSpec spec_for(const Job& job) {
  const DatasetConfig& d = *job.dataset;
  eval::EvalSpec spec;
  spec.dataset = d.name;
  spec.candidate_labels = d.candidate_labels;
  spec.hypothesis_template = d.hypothesis_template;
  if (d.columns.label.empty()) {
    spec.task = eval::EvalTask::Unlabelled;
  } else if (job.model->task == ModelTask::Embedding) {
    spec.task = eval::EvalTask::Similarity;
  } else if (!d.candidate_labels.empty()) {
    spec.task = eval::EvalTask::ZeroShot;
  } else {
    spec.task = eval::EvalTask::Classification;
  }
  return spec;
}

eval::EvalOptions eval_options(const EvalStepOptions& options, const DatasetConfig& dataset) {
  eval::EvalOptions o;
  o.batch_size = options.batch_size;
  o.speed_rounds = options.speed_rounds;
  o.max_length = dataset.preprocessing.max_length;
  return o;
}

// Frees a model's memory for real, so the next run's RSS is its own.
void release(std::optional<Model>& model) {
  model.reset();
  release_freed_memory();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::json entry_for(const Job& job, const eval::Comparison& comparison,
                         const std::vector<eval::GateResult>& gates) {
  nlohmann::json gate_docs = nlohmann::json::array();
  for (const eval::GateResult& gate : gates) gate_docs.push_back(eval::to_json(gate));
  return {{"quantization", job.quant},
          {"dataset", job.dataset->name},
          {"quantized_path", job.output.string()},
          {"fingerprint", job.fingerprint},
          {"comparison", eval::to_json(comparison)},
          {"gates", gate_docs},
          {"passed", eval::all_passed(gates)}};
}

}  // namespace

eval::GateThresholds gate_thresholds(const QuantizationConfig& q) {
  eval::GateThresholds t;
  t.max_accuracy_drop = q.max_accuracy_drop;
  t.min_speedup = q.min_speedup;
  t.target_size_mb = q.target_size_mb;
  t.size_tolerance = q.size_tolerance;
  t.min_agreement = q.min_agreement;
  t.min_cosine = q.min_cosine;
  return t;
}

void evaluate_group(const std::vector<const Job*>& jobs, const EvalStepOptions& options,
                    const std::function<void(const Job&)>& on_start,
                    const std::function<void(const EvalStepResult&)>& on_done) {
  if (jobs.empty()) return;
  const Job& first = *jobs.front();
  const eval::EvalSpec spec = spec_for(first);
  const eval::EvalOptions run_options = eval_options(options, *first.dataset);
  std::vector<LabelledExample> examples;
  eval::RunResult baseline_run;
  try {
    // The plan's row limit (the dataset's own and --limit), spread evenly over
    // the rows as `quantpipe eval --limit` does: a label-sorted file keeps every label.
    DatasetConfig dataset = *first.dataset;
    dataset.limit = first.limit;
    examples = load_dataset(dataset, options.dataset_cache);
    eval::EvalOptions measured = run_options;
    measured.rss_before_load = current_rss_bytes();
    std::optional<Model> baseline = Model::load(first.source, {options.threads});
    baseline_run = eval::run_model(*baseline, examples, spec, measured);
    release(baseline);
  } catch (const std::exception& e) {
    for (const Job* job : jobs) {
      on_start(*job);
      on_done({job, std::nullopt, cat("fp32 baseline on ", first.dataset->name, ": ", e.what()), 0});
    }
    return;
  }
  for (const Job* job : jobs) {
    on_start(*job);
    const auto start = std::chrono::steady_clock::now();
    EvalStepResult result{job, std::nullopt, "", 0};
    std::optional<Model> quantized, baseline;
    try {
      // The quantized model runs alone, and its memory numbers count RSS
      // above the process as it was just before loading it; the fp32 model is
      // loaded again (memory-mapped, cheap) only for the per-layer comparison.
      eval::EvalOptions measured = run_options;
      measured.rss_before_load = current_rss_bytes();
      quantized = Model::load(job->output, {options.threads});
      eval::RunResult quantized_run = eval::run_model(*quantized, examples, spec, measured);
      baseline = Model::load(job->source, {options.threads});
      const eval::Comparison comparison = eval::compare_runs(
          baseline_run, std::move(quantized_run), *baseline, *quantized, examples, spec, run_options);
      result.entry =
          entry_for(*job, comparison, eval::apply_gates(comparison, gate_thresholds(*job->quantization)));
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    // Both go, and what they freed with them, before the next job measures.
    release(baseline);
    release(quantized);
    result.seconds = seconds_since(start);
    on_done(result);
  }
}

}  // namespace qp::pipeline
