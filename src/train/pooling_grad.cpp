#include "train/pooling_grad.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace qp::train {
namespace {

void check_mode(PoolingMode mode) {
  if (mode != PoolingMode::Mean && mode != PoolingMode::Cls)
    fail("[train] fine-tuning supports mean and CLS pooling; this model pools with max or mean·√len");
}

}  // namespace

void pool_backward(const float* d_pooled, std::span<const int32_t> seq_offsets, int width, PoolingMode mode,
                   float* d_hidden) {
  check_mode(mode);
  for (size_t s = 0; s + 1 < seq_offsets.size(); ++s) {
    const int first = seq_offsets[s], len = seq_offsets[s + 1] - first;
    const float* dp = d_pooled + s * width;
    if (mode == PoolingMode::Cls) {
      for (int c = 0; c < width; ++c) d_hidden[static_cast<int64_t>(first) * width + c] += dp[c];
      continue;
    }
    const float share = 1.0f / static_cast<float>(len);
    for (int t = first; t < first + len; ++t)
      for (int c = 0; c < width; ++c) d_hidden[static_cast<int64_t>(t) * width + c] += dp[c] * share;
  }
}

void l2_normalize_backward(const float* dy, const float* x, const float* y, int rows, int width, float* dx) {
  for (int r = 0; r < rows; ++r) {
    double sq = 0.0, dot = 0.0;
    for (int c = 0; c < width; ++c) {
      sq += static_cast<double>(x[r * width + c]) * x[r * width + c];
      dot += static_cast<double>(y[r * width + c]) * dy[r * width + c];
    }
    const float norm = static_cast<float>(std::sqrt(sq));
    if (norm <= 1e-12f) {
      // Below the clamp the op is x / 1e-12: a plain scaling.
      for (int c = 0; c < width; ++c) dx[r * width + c] = dy[r * width + c] / 1e-12f;
      continue;
    }
    for (int c = 0; c < width; ++c)
      dx[r * width + c] = (dy[r * width + c] - y[r * width + c] * static_cast<float>(dot)) / norm;
  }
}

}  // namespace qp::train
