#include "quant/activation_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace qp::quant {

ActivationStats::ActivationStats(int64_t channels)
    : min_(std::numeric_limits<float>::infinity()),
      max_(-std::numeric_limits<float>::infinity()),
      channel_absmax_(static_cast<size_t>(channels), 0.0f) {
  if (channels <= 0) fail("[quant] ActivationStats: channels must be positive, got ", channels);
}

void ActivationStats::add(const float* x, int64_t rows) {
  const int64_t k = channels();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * k;
    double sum = 0, squares = 0;  // per row, then into the totals: fewer rounding steps
    for (int64_t c = 0; c < k; ++c) {
      const float v = row[c];
      sum += v;
      squares += static_cast<double>(v) * v;
      min_ = std::min(min_, v);
      max_ = std::max(max_, v);
      channel_absmax_[c] = std::max(channel_absmax_[c], std::fabs(v));
    }
    sum_ += sum;
    sum_squares_ += squares;
  }
  rows_ += rows;
}

double ActivationStats::mean() const { return rows_ ? sum_ / static_cast<double>(rows_ * channels()) : 0.0; }

double ActivationStats::stddev() const {
  if (!rows_) return 0.0;
  const double m = mean();
  return std::sqrt(std::max(0.0, sum_squares_ / static_cast<double>(rows_ * channels()) - m * m));
}

nlohmann::json ActivationStats::to_json() const {
  return {{"rows", rows_},
          {"mean", mean()},
          {"std", stddev()},
          {"min", rows_ ? min_ : 0.0f},
          {"max", rows_ ? max_ : 0.0f},
          {"channel_absmax", channel_absmax_}};
}

}  // namespace qp::quant
