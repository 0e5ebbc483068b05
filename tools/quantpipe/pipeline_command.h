// The pipeline subcommand as a function, so `quantpipe demo` can run the same
// thing on its own generated config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/runner.h"

namespace qp::cli {

struct PipelineRequest {
  std::vector<std::string> configs;
  std::string models, datasets;  // space/comma-separated filters; empty: all
  std::string workspace;         // empty: from the environment
  std::optional<int64_t> limit;  // --limit: rows of every dataset (see PlanFilter)
  bool dry_run = false;
  // --upload MODEL:QUANT[=OWNER/NAME]: published after the run when their gates passed.
  std::vector<std::string> uploads;
  pipeline::PipelineOptions options;
};

// Returns the exit status (see cmd_pipeline.cpp); a dry run returns 1 when a job cannot run.
int run_pipeline_command(const PipelineRequest& request);

}  // namespace qp::cli
