// Evaluation results: one model run on one dataset (RunResult), and a
// quantized run set against its fp32 baseline on the same inputs (Comparison).
// These structs are the contract between the evaluator (evaluate.cpp), the
// quality gates (gates.h), the pipeline and the reports; their JSON form is
// what the workspace files hold (see docs/RESULTS.md).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qp::eval {

// How a dataset is scored. Classification covers NLI pairs too (text + text_pair).
enum class EvalTask {
  Classification,  // arg-max label vs gold label: accuracy, per-class recall, macro-F1
  Similarity,      // embed both texts, cosine vs gold score: Spearman, Pearson (STS)
  ZeroShot,        // NLI model, candidate labels + hypothesis template, as the HF pipeline
  Unlabelled,      // no gold: only agreement with the fp32 baseline
};

// What fidelity compares: per example, the vector the model produced (logits,
// zero-shot label scores, or embeddings; for Similarity both texts' embeddings
// one after the other) and the predicted label index (-1 when none).
struct ModelOutputs {
  std::vector<std::vector<float>> vectors;
  std::vector<int> predicted;
};

struct LatencyMs {
  double p50 = 0, p95 = 0, p99 = 0, mean = 0;
  int64_t queries = 0;  // how many single-query (batch 1) runs were timed
};

struct MemoryMb {
  double rss_avg = 0;   // mean of RSS samples taken while the model ran
  double rss_peak = 0;  // largest sample
  int64_t samples = 0;
  // The process's RSS just before the model was loaded (0: not measured).
  // RSS above it is the model's own: weights, repacked panels, activations,
  // not the data set, the other model's outputs or the program.
  double rss_before_load = 0;
  double model_avg() const { return rss_avg - rss_before_load; }
  double model_peak() const { return rss_peak - rss_before_load; }
};

// One model on one dataset.
struct RunResult {
  std::string model_path;
  std::string format;  // "fp32" or the native scheme, e.g. "q8_sym_ch"
  std::string dataset;
  EvalTask task = EvalTask::Classification;
  int64_t rows = 0, tokens = 0;
  // "accuracy", "macro_f1", "recall/<label>", "spearman", "pearson", …
  std::map<std::string, double> metrics;
  std::string primary_metric;  // the one accuracy drop is measured on
  double primary = 0;          // metrics[primary_metric]; 0 for Unlabelled
  double seconds = 0;          // the batched pass over all rows
  double queries_per_minute = 0;
  double tokens_per_second = 0;
  double model_size_mb = 0;  // bytes on disk of the model's weight files / 1e6
  MemoryMb memory;
  LatencyMs latency;
  std::vector<std::string> label_names;  // predicted_counts' order (classification, zero-shot)
  std::vector<int64_t> predicted_counts;
  std::vector<int64_t> gold_counts;  // empty when unlabelled
  ModelOutputs outputs;              // kept in memory, not written to JSON
};

struct LayerFidelity {
  std::string name;  // a named intermediate, e.g. "layer.3.out"
  double cosine = 0;
  double relative_mse = 0;  // ‖a − b‖² / ‖a‖²
};

struct Fidelity {
  double mean_cosine = 0, min_cosine = 0;
  double mse = 0, max_abs_diff = 0;
  int64_t nan_inf = 0;                    // non-finite values in the quantized outputs
  std::optional<double> label_agreement;  // fraction of equal predicted labels, when labels exist
  std::vector<LayerFidelity> per_layer;   // on the first few examples
};

// Speed of the two models timed in alternation on the same rows, so that a
// busy machine slows both alike (the single passes behind queries_per_minute
// run minutes apart and can see different load).
struct SpeedCheck {
  int rounds = 0;
  int64_t rows = 0;
  double baseline_seconds = 0, quantized_seconds = 0;  // medians over the rounds
  double speedup = 0;                                  // baseline_seconds ÷ quantized_seconds
};

struct Comparison {
  RunResult baseline, quantized;
  Fidelity fidelity;
  double accuracy_drop_points = 0;  // (baseline.primary − quantized.primary) · 100
  // speed_check's speedup when there is one, else quantized ÷ baseline queries per minute
  double speedup = 0;
  std::optional<SpeedCheck> speed_check;
};

std::string_view to_string(EvalTask task);
nlohmann::json to_json(const RunResult& run);
nlohmann::json to_json(const Fidelity& fidelity);
nlohmann::json to_json(const Comparison& comparison);

}  // namespace qp::eval
