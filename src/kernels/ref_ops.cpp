// Scalar reference row ops, written the way PyTorch defines them in fp32.
#include "kernels/ref_ops.h"

#include <algorithm>
#include <cmath>

namespace qp::kernels::ref {

float gelu_value(float x) {
  constexpr float kSqrtHalf = 0.70710678118654752440f;
  return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
}

void gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_value(x[i]);
}

// Two passes (mean, then variance of the centred values) so the variance never
// suffers the cancellation of E[x²] − E[x]².
void layer_norm_row(const float* x, const float* residual, float* out, int cols, const float* gamma,
                    const float* beta, float eps) {
  float sum = 0.0f;
  for (int i = 0; i < cols; ++i) {
    const float v = residual ? x[i] + residual[i] : x[i];
    out[i] = v;
    sum += v;
  }
  const float mean = sum / static_cast<float>(cols);
  float squares = 0.0f;
  for (int i = 0; i < cols; ++i) {
    const float d = out[i] - mean;
    squares += d * d;
  }
  const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
  for (int i = 0; i < cols; ++i) out[i] = (out[i] - mean) * inv_std * gamma[i] + beta[i];
}

void softmax_row(float* x, int n, float scale) {
  float max = -INFINITY;
  for (int i = 0; i < n; ++i) {
    x[i] *= scale;
    max = std::max(max, x[i]);
  }
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace qp::kernels::ref
