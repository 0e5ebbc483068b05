// Job and run status files in the workspace's state/ folder. The runner
// writes them (atomically) as jobs start and end; skip-if-done and
// `quantpipe monitor` read them, so a monitor in another process sees the
// same truth as the run itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/workspace.h"

namespace qp::pipeline {

enum class JobStatus { Pending, Running, Done, Skipped, Failed };
std::string_view to_string(JobStatus status);

struct JobState {
  std::string id;
  JobStatus status = JobStatus::Pending;
  std::string fingerprint;  // of the inputs the finished result came from
  double started = 0;       // Unix seconds; 0 when not started
  double finished = 0;
  std::string error;  // Failed: the one-line reason
};

struct RunState {
  long long pid = 0;
  double started = 0;
  double finished = 0;  // 0 while the run is going
  int parallel_jobs = 1;
  std::vector<std::string> job_ids;  // in plan order
};

double unix_now();
void write_job_state(const Workspace& workspace, const JobState& state);
// nullopt when the file is absent or unreadable (a monitor must not crash on a half-made workspace).
std::optional<JobState> read_job_state(const Workspace& workspace, const std::string& id);
void write_run_state(const Workspace& workspace, const RunState& state);
std::optional<RunState> read_run_state(const Workspace& workspace);

}  // namespace qp::pipeline
