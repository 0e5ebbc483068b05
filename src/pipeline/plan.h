// The job plan: model × quantization → a conversion job, and model ×
// quantization × benchmark dataset → an evaluation job that depends on it.
// Each job carries a fingerprint of what determines its result (source
// weights, plan, dataset, tool version), so unchanged work can be skipped,
// and the quantpipe command that does the same step by hand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/workspace.h"

namespace qp::pipeline {

enum class JobKind { Convert, Evaluate };

struct Job {
  std::string id;  // "convert.<model>.<quant>", "eval.<model>.<quant>.<dataset>"
  JobKind kind = JobKind::Convert;
  const ModelConfig* model = nullptr;  // points into the PipelineConfig
  const QuantizationConfig* quantization = nullptr;
  const DatasetConfig* dataset = nullptr;  // Evaluate only
  std::string quant;                       // scheme name, e.g. "q8_sym_ch"
  std::filesystem::path source;            // fp32 model directory; empty when unavailable
  std::string source_problem;              // why the source is unavailable (hub model not cached, …)
  bool fetch_on_run = false;               // a hub model a real run fetches first (dry run, not cached)
  std::filesystem::path output;            // the converted model directory
  std::string source_fingerprint;          // of the fp32 model; empty when unavailable
  std::string fingerprint;                 // empty when the source is unavailable
  std::string command;                     // the equivalent quantpipe command line
  std::string conversion_id;               // Evaluate: the conversion job it evaluates
  std::optional<int64_t> limit;            // Evaluate: at most this many rows; empty: all
  // Convert with GPTQ: the dataset it calibrates on (the model's calibration
  // dataset, else its first benchmark), null for synthetic text; and which
  // step of that chain was taken, for the log and quantpipe.json.
  const DatasetConfig* calibration_dataset = nullptr;
  std::string calibration_step;
  // Convert with finetune enabled: the unlabelled text fine-tuning reads
  // (finetune.dataset, else the calibration dataset, else the shipped
  // corpus; never one of the model's benchmarks), null for the corpus.
  const DatasetConfig* finetune_dataset = nullptr;
  std::string finetune_step;
};

struct PlanFilter {
  std::vector<std::string> models;    // empty: all
  std::vector<std::string> datasets;  // empty: every benchmark of each model
  // At most this many rows of every dataset (--limit; with a dataset's own
  // `limit`, the smaller), spread evenly. Part of each evaluation's fingerprint.
  std::optional<int64_t> limit{};
  // Fetch hub models that are not in the Hugging Face cache (a real run);
  // false (a dry run) plans them from the cache only and marks the rest
  // fetch_on_run. HF_HUB_OFFLINE=1 forbids fetching either way.
  bool fetch_hub_models = false;
};

struct Plan {
  std::vector<Job> jobs;  // conversions first, then evaluations grouped by model and dataset
  std::vector<std::string> config_files;

  size_t count(JobKind kind) const;
};

// Builds the plan; throws qp::Error when a filter names an unknown model or
// dataset, when the limit is not positive, or when a model lists one
// quantization twice (two jobs would share one directory and state).
Plan make_plan(const PipelineConfig& config, const Workspace& workspace, const PlanFilter& filter);

// Splits "a b,c" into {"a", "b", "c"} (the --models / --datasets lists).
std::vector<std::string> split_names(const std::string& text);

}  // namespace qp::pipeline
