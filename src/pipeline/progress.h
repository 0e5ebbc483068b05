// Progress of a pipeline run on stderr: on a terminal one bar that redraws
// itself ("[#####-----]  5/10  eval minilm-l6-genre q8_sym_ch genre  ETA 1:20"),
// otherwise (logs, CI) one plain line per finished job.
#pragma once

#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "pipeline/job_state.h"

namespace qp::pipeline {

// Seconds left for `remaining` jobs, from the durations of jobs that really ran
// (skipped ones take no time), `parallel` at a time; nullopt before any ran.
std::optional<double> estimate_eta(int remaining, const std::vector<double>& durations, int parallel);
std::string format_duration(double seconds);  // "42 s", "3:05", "1:02:07"

class ProgressBar {
 public:
  ProgressBar(int total, int parallel, bool terminal, std::ostream& out);
  void started(const std::string& what);
  void add_jobs(int count) { total_ += count; }  // jobs run again (mixed-precision raises)
  void finished(const std::string& what, JobStatus status, double seconds);
  void close();  // ends the bar's line on a terminal

 private:
  void draw(const std::string& what);

  int total_, parallel_;
  bool terminal_;
  std::ostream& out_;
  int finished_count_ = 0;
  std::vector<double> durations_;
  std::mutex mutex_;
};

}  // namespace qp::pipeline
