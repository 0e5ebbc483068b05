// What `quantpipe monitor` shows: the state of the current or last pipeline
// run, read from the workspace's state files (written by another process).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/workspace.h"

namespace qp::pipeline {

struct RunSnapshot {
  int total = 0, pending = 0, running = 0, done = 0, skipped = 0, failed = 0;
  std::vector<std::string> running_jobs;  // "eval.m.q8_sym_ch.genre (running 12 s)"
  std::vector<std::string> failed_jobs;   // "convert.m.q4_affine_g64: <error>"
  bool finished = false;                  // the run wrote its end time
  bool process_gone = false;              // unfinished, but its process no longer exists
  double elapsed = 0;                     // seconds since the run started (to its end when finished)
  std::optional<double> eta;              // seconds; nullopt until a job has run
};

// nullopt when the workspace holds no run.
std::optional<RunSnapshot> snapshot_run(const Workspace& workspace);
std::string format_snapshot(const RunSnapshot& snapshot);

}  // namespace qp::pipeline
