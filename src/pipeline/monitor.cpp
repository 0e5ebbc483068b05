#include "pipeline/monitor.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>

#include "core/error.h"
#include "pipeline/job_state.h"
#include "pipeline/progress.h"

namespace qp::pipeline {
namespace {

bool process_exists(long long pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

std::optional<RunSnapshot> snapshot_run(const Workspace& workspace) {
  const std::optional<RunState> run = read_run_state(workspace);
  if (!run) return std::nullopt;
  RunSnapshot s;
  s.total = static_cast<int>(run->job_ids.size());
  s.finished = run->finished > 0;
  s.process_gone = !s.finished && !process_exists(run->pid);
  const double now = unix_now();
  s.elapsed = (s.finished ? run->finished : now) - run->started;
  std::vector<double> durations;
  for (const std::string& id : run->job_ids) {
    const std::optional<JobState> job = read_job_state(workspace, id);
    // A state older than this run belongs to the last one: the job is still to come.
    // (A job failed before it could start has only an end time.)
    const bool from_this_run = job && job->last_touched() >= run->started;
    const JobStatus status =
        job && (from_this_run || job->status == JobStatus::Pending) ? job->status : JobStatus::Pending;
    switch (status) {
      case JobStatus::Pending:
        ++s.pending;
        break;
      case JobStatus::Running:
        ++s.running;
        s.running_jobs.push_back(cat(id, " (running ", format_duration(now - job->started), ")"));
        break;
      case JobStatus::Done:
        ++s.done;
        break;
      case JobStatus::Skipped:
        ++s.skipped;
        break;
      case JobStatus::Failed:
        ++s.failed;
        s.failed_jobs.push_back(cat(id, ": ", job->error));
        break;
    }
    if ((status == JobStatus::Done || status == JobStatus::Failed) && job->started > 0)
      durations.push_back(job->finished - job->started);
  }
  if (!s.finished) s.eta = estimate_eta(s.pending + s.running, durations, run->parallel_jobs);
  return s;
}

std::string format_snapshot(const RunSnapshot& s) {
  std::string text = cat(s.finished       ? "finished"
                         : s.process_gone ? "stopped (its process is gone)"
                                          : "running",
                         " after ", format_duration(s.elapsed), ": ", s.done + s.skipped + s.failed, "/",
                         s.total, " jobs — ", s.done, " done, ", s.skipped, " skipped, ", s.failed,
                         " failed, ", s.running, " running, ", s.pending, " pending");
  if (s.eta) text += cat(", ETA ", format_duration(*s.eta));
  text += "\n";
  for (const std::string& line : s.running_jobs) text += "  running  " + line + "\n";
  for (const std::string& line : s.failed_jobs) text += "  FAILED   " + line + "\n";
  return text;
}

}  // namespace qp::pipeline
