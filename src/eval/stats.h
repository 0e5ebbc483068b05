// Small statistics over timing samples: median, mean, stdev, percentiles.
#pragma once

#include <vector>

namespace qp {

struct SampleStats {
  double mean = 0;
  double stdev = 0;
  double median = 0;
  double p50 = 0, p95 = 0, p99 = 0;
  double min = 0, max = 0;
};

// Percentiles by linear interpolation between closest ranks (numpy's default).
double percentile(std::vector<double> samples, double q);
SampleStats summarize(const std::vector<double>& samples);

// Peak resident set size of this process since it started or since the last
// reset_peak_rss(), in bytes (VmHWM).
long long peak_rss_bytes();
// Starts the peak over from the current RSS (Linux: /proc/self/clear_refs),
// so that a later model's peak is not an earlier one's. False when the
// system cannot; the peak then still covers the whole process.
bool reset_peak_rss();
// Current resident set size, in bytes (0 when unknown).
long long current_rss_bytes();

}  // namespace qp
