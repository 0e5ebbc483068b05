#include "train/norm_grad.h"

#include <cmath>

namespace qp::train {

void layer_norm_forward(const float* x, int rows, int cols, const float* gamma, const float* beta, float eps,
                        float* y, NormStats& stats, ThreadPool& pool) {
  stats.mean.resize(rows);
  stats.rstd.resize(rows);
  pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * cols;
      // Sums in double: the statistics then do not depend on the row's scale.
      double sum = 0.0;
      for (int c = 0; c < cols; ++c) sum += xr[c];
      const double mean = sum / cols;
      double sq = 0.0;
      for (int c = 0; c < cols; ++c) sq += (xr[c] - mean) * (xr[c] - mean);
      const float rstd = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
      stats.mean[r] = static_cast<float>(mean);
      stats.rstd[r] = rstd;
      float* yr = y + r * cols;
      for (int c = 0; c < cols; ++c) yr[c] = (xr[c] - stats.mean[r]) * rstd * gamma[c] + beta[c];
    }
  });
}

void layer_norm_backward(const float* dy, const float* x, int rows, int cols, const float* gamma,
                         const NormStats& stats, float* dx, float* dgamma, float* dbeta, ThreadPool& pool) {
  pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      const float mean = stats.mean[r], rstd = stats.rstd[r];
      // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma.
      double sum_g = 0.0, sum_gx = 0.0;
      for (int c = 0; c < cols; ++c) {
        const float g = dyr[c] * gamma[c];
        sum_g += g;
        sum_gx += g * (xr[c] - mean) * rstd;
      }
      const float mean_g = static_cast<float>(sum_g / cols), mean_gx = static_cast<float>(sum_gx / cols);
      float* dxr = dx + r * cols;
      for (int c = 0; c < cols; ++c) {
        const float xhat = (xr[c] - mean) * rstd;
        dxr[c] = rstd * (dyr[c] * gamma[c] - mean_g - xhat * mean_gx);
      }
    }
  });
  // Parameter gradients: columns split across threads, every row summed.
  pool.parallel_for(cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      const float mean = stats.mean[r], rstd = stats.rstd[r];
      for (int64_t c = begin; c < end; ++c) {
        dgamma[c] += dyr[c] * (xr[c] - mean) * rstd;
        dbeta[c] += dyr[c];
      }
    }
  });
}

}  // namespace qp::train
