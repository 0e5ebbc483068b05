// Runs one model over a dataset and measures the six numbers of an
// evaluation (task metric, queries/min, size on disk, tokens/s, memory,
// latency), then sets a quantized run against its fp32 baseline.
//
//   EvalSpec spec{.task = EvalTask::Classification, .dataset = "genre"};
//   RunResult fp32 = run_model(baseline, examples, spec, {});
//   RunResult q8 = run_model(quantized, examples, spec, {});
//   Comparison c = compare_runs(std::move(fp32), std::move(q8), baseline, quantized, examples, spec, {});
//
// How each number is measured:
// - Task metric, throughput and memory come from one batched pass over all
//   rows (options.batch_size per forward pass), timed from the texts to the
//   outputs, tokenization included. queries_per_minute = rows / seconds · 60;
//   tokens_per_second = tokens / seconds, where tokens counts every sequence
//   the pass ran (both texts for similarity, every pair for zero-shot).
// - memory: this process's RSS sampled every options.memory_interval_ms
//   during the batched pass (it includes everything the process holds).
// - latency: after one untimed warm-up query, the first
//   min(rows, options.latency_queries) examples are run one at a time, each
//   as its own query at batch 1 (a similarity query embeds its two texts; a
//   zero-shot query runs its candidate pairs together), tokenization included.
// - model_size_mb: bytes of the weight files (*.safetensors, *.bin) in the
//   model directory and its module subdirectories (e.g. 2_Dense/), excluding
//   the fp16/ dual output, / 1e6.
//
// Tasks: Classification compares predicted label names with gold ones
// (case-insensitively; label_mapping already applied by the loader):
// metrics accuracy (primary), macro_f1, recall/<label>, invalid (predictions
// with non-finite logits, counted as wrong). Similarity embeds text and
// text_pair, cosine vs gold score: spearman (primary), pearson. ZeroShot is
// Classification over the candidate labels (see zero_shot.h). Unlabelled
// runs the model (classification head when it has one, else embeddings) and
// reports no metric: primary_metric is empty, primary 0, and only fidelity
// (agreement, cosine) says anything in the comparison.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/datasets.h"
#include "eval/evaluation.h"
#include "quantpipe/model.h"

namespace qp::eval {

// What is evaluated.
struct EvalSpec {
  EvalTask task = EvalTask::Classification;
  std::string dataset{};                        // its name, for the result
  std::vector<std::string> candidate_labels{};  // zero-shot
  std::string hypothesis_template = "This example is {}.";
};

// How it is run.
struct EvalOptions {
  int batch_size = 32;
  int max_length = 0;  // 0: the model's default
  int latency_queries = 64;
  int memory_interval_ms = 5;
  int per_layer_examples = 4;  // examples compared layer by layer in compare_runs (0: none)
  int speed_rounds = 3;        // alternating timed passes of both models in compare_runs (0: none)
  int64_t speed_rows = 128;    // rows of each such pass, spread evenly over the data
  // Process RSS in bytes measured just before the model was loaded (0: not
  // measured): run_model reports memory above it as the model's own.
  int64_t rss_before_load = 0;
};

// One model on the examples; fills every RunResult field including outputs.
// Throws qp::Error when the task does not fit the model or the data (no
// examples, a similarity row without a pair or a numeric score, a labelled
// task with an empty label, zero-shot without an entailment label, a
// pre-tokenized row in a similarity or zero-shot task or longer than max_length).
// Pre-tokenized rows (LabelledExample::ids) run as they are; the others are tokenized.
RunResult run_model(const Model& model, const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                    const EvalOptions& options);

// The comparison of two runs of the same examples: the speedup from
// options.speed_rounds alternating timed passes of both models over the same
// options.speed_rows rows (Comparison::speed_check; robust to a machine whose
// load changes between the two runs), fidelity from their outputs, per-layer fidelity from running the first
// options.per_layer_examples examples through both models (a tensor sink is
// attached for that, hence non-const models), the accuracy drop in points
// and the speedup. The per-layer pass runs what the task runs: the
// classification head (zero-shot: each text paired with the first candidate
// label's hypothesis), or embeddings of the first text (similarity, unlabelled
// embedding models).
Comparison compare_runs(RunResult baseline, RunResult quantized, Model& baseline_model,
                        Model& quantized_model, const std::vector<LabelledExample>& examples,
                        const EvalSpec& spec, const EvalOptions& options);

// options.speed_rounds rounds over the same options.speed_rows rows, each
// round a warm-up and a timed batched pass of the baseline, then the same for
// the quantized model (warm caches, as a process running one model has);
// medians of the timed passes.
SpeedCheck interleaved_speed(const Model& baseline, const Model& quantized,
                             const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                             const EvalOptions& options);

// Bytes on disk of a model directory's weight files (see model_size_mb above).
int64_t model_weight_bytes(const std::filesystem::path& dir);

// Latency summary of per-query times in milliseconds (percentiles by linear
// interpolation, numpy's default).
LatencyMs summarize_latency(const std::vector<double>& milliseconds);

}  // namespace qp::eval
