#include "pipeline/progress.h"

#include <cmath>
#include <cstdio>
#include <numeric>

namespace qp::pipeline {

std::optional<double> estimate_eta(int remaining, const std::vector<double>& durations, int parallel) {
  if (remaining <= 0) return 0.0;
  if (durations.empty()) return std::nullopt;
  const double mean = std::accumulate(durations.begin(), durations.end(), 0.0) / durations.size();
  return mean * std::ceil(static_cast<double>(remaining) / std::max(parallel, 1));
}

std::string format_duration(double seconds) {
  const long total = std::lround(std::max(seconds, 0.0));
  char text[32];
  if (total < 60) {
    std::snprintf(text, sizeof text, "%ld s", total);
  } else if (total < 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  }
  return text;
}

ProgressBar::ProgressBar(int total, int parallel, bool terminal, std::ostream& out)
    : total_(total), parallel_(parallel), terminal_(terminal), out_(out) {}

void ProgressBar::started(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (terminal_) draw(what);
}

void ProgressBar::finished(const std::string& what, JobStatus status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++finished_count_;
  if (status == JobStatus::Done || status == JobStatus::Failed) durations_.push_back(seconds);
  if (terminal_) {
    draw(what);
    return;
  }
  const std::optional<double> eta = estimate_eta(total_ - finished_count_, durations_, parallel_);
  char line[64];
  std::snprintf(line, sizeof line, "[%d/%d] ", finished_count_, total_);
  out_ << line << to_string(status) << " " << what;
  if (status != JobStatus::Skipped) out_ << " (" << format_duration(seconds) << ")";
  if (eta && finished_count_ < total_) out_ << ", ETA " << format_duration(*eta);
  out_ << "\n" << std::flush;
}

void ProgressBar::draw(const std::string& what) {
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? finished_count_ * kWidth / total_ : kWidth;
  const std::optional<double> eta = estimate_eta(total_ - finished_count_, durations_, parallel_);
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '-');
  char counts[32];
  std::snprintf(counts, sizeof counts, "%3d/%d", finished_count_, total_);
  std::string label = what.size() > 48 ? what.substr(0, 45) + "..." : what;
  out_ << "\r\033[K[" << bar << "] " << counts << "  " << label;
  if (eta) out_ << "  ETA " << format_duration(*eta);
  out_ << std::flush;
}

void ProgressBar::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (terminal_) out_ << "\n" << std::flush;
}

}  // namespace qp::pipeline
