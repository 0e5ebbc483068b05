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

// Peak resident set size of this process so far, in bytes.
long long peak_rss_bytes();
// Current resident set size, in bytes (0 when unknown).
long long current_rss_bytes();

}  // namespace qp
