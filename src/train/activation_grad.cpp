#include "train/activation_grad.h"

#include <cmath>

namespace qp::train {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

}  // namespace

void gelu_backward(const float* dy, const float* x, int64_t n, float* dx, ThreadPool& pool) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float cdf = 0.5f * (1.0f + std::erf(x[i] * kInvSqrt2));
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
      dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
  });
}

void tanh_forward(const float* x, int64_t n, float* y, ThreadPool& pool) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = std::tanh(x[i]);
  });
}

void tanh_backward(const float* dy, const float* y, int64_t n, float* dx, ThreadPool& pool) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
  });
}

}  // namespace qp::train
