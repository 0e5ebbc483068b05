// Job and run status files in the workspace's state/ folder. The runner
// writes them (atomically) as jobs start and end; skip-if-done and
// `quantpipe monitor` read them, so a monitor in another process sees the
// same truth as the run itself.
#pragma once

#include <cstdint>
#include <map>
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
  // Unix seconds. A skipped job keeps the times of the run that produced its
  // result, and says when it was found unchanged in `skipped_at`.
  double started = 0;  // 0 when not started
  double finished = 0;
  std::string error;  // Failed: the one-line reason
  double skipped_at = 0;
  // A finished conversion: every file of its output directory (relative path →
  // bytes), checked before the conversion is skipped (see skip_check.h).
  std::map<std::string, int64_t> output_files{};

  // The latest time this state was written by a run (for "is it from this run").
  double last_touched() const;
};

struct RunState {
  long long pid = 0;
  double started = 0;
  double finished = 0;  // 0 while the run is going
  int parallel_jobs = 1;
  std::vector<std::string> job_ids;  // in plan order
};

double unix_now();
std::string format_time(double unix_seconds);  // local time, "2024-05-01 14:03:22"
void write_job_state(const Workspace& workspace, const JobState& state);
// nullopt when the file is absent or unreadable (a monitor must not crash on a half-made workspace).
std::optional<JobState> read_job_state(const Workspace& workspace, const std::string& id);
void write_run_state(const Workspace& workspace, const RunState& state);
std::optional<RunState> read_run_state(const Workspace& workspace);

}  // namespace qp::pipeline
