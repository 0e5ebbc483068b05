// Runs a plan: conversions in parallel (up to `jobs` at a time; each is
// single-threaded), then evaluations one group at a time with all threads, so
// that no conversion disturbs the speed being measured. Work whose
// fingerprint is unchanged since a finished run, and whose output is intact,
// is skipped (skip_check.h). Every step writes
// its files into the workspace (see workspace.h) atomically, then the
// per-model comparison documents and the report are written.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/calibration.h"
#include "pipeline/eval_step.h"
#include "pipeline/plan.h"
#include "pipeline/skip_check.h"
#include "pipeline/workspace.h"

namespace qp::pipeline {

// What the pipeline asks of fine-tuning (a quantization's `finetune:`, see
// FinetuneConfig). The pipeline library does not train: the caller provides
// the function (the CLI: src/train/finetune_model.h), which fine-tunes the
// converted directory in place, returns what its quantpipe.json's
// plan.finetune holds and throws on failure, leaving the directory as it was.
struct FinetuneRequest {
  std::filesystem::path quantized;
  CalibrationOptions text;  // unlabelled rows: texts given, or the shipped corpus
  int epochs = 3;
  double learning_rate = 1e-4;
  int threads = 0;
};
using FinetuneFn = std::function<nlohmann::json(const FinetuneRequest&)>;

struct PipelineOptions {
  int jobs = 1;           // conversions at a time
  bool skip = true;       // skip unchanged work (--no-skip turns it off)
  bool terminal = false;  // draw a progress bar (stderr is a terminal)
  EvalStepOptions eval;
  FinetuneFn finetune;  // empty: `finetune:` is reported as unavailable, nothing is fine-tuned
};

struct PipelineOutcome {
  int done = 0, skipped = 0, failed = 0;
  // Evaluations whose gates did not all pass, run now or kept from an earlier
  // run (a skipped evaluation carries its stored verdict).
  int gates_failed = 0;
  std::vector<std::string> problems;  // one line per failed job or gate
  std::filesystem::path report_markdown, report_html;

  bool ok() const { return failed == 0 && gates_failed == 0; }
};

PipelineOutcome run_pipeline(const Plan& plan, const Workspace& workspace, const PipelineOptions& options);

}  // namespace qp::pipeline
