// Statistics of one activation tensor over calibration batches: the input of
// a linear layer, as GPTQ / AWQ-style methods and people deciding on them
// want to see it (outlier channels show in the per-channel abs-max).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace qp::quant {

class ActivationStats {
 public:
  explicit ActivationStats(int64_t channels);
  // `rows` rows of `channels` values each, row-major.
  void add(const float* x, int64_t rows);

  int64_t channels() const { return static_cast<int64_t>(channel_absmax_.size()); }
  int64_t rows() const { return rows_; }
  double mean() const;
  double stddev() const;  // population standard deviation over every value
  float min() const { return min_; }
  float max() const { return max_; }
  const std::vector<float>& channel_absmax() const { return channel_absmax_; }
  // {"rows", "mean", "std", "min", "max", "channel_absmax": [...]}
  nlohmann::json to_json() const;

 private:
  int64_t rows_ = 0;
  double sum_ = 0, sum_squares_ = 0;
  float min_, max_;
  std::vector<float> channel_absmax_;
};

}  // namespace qp::quant
