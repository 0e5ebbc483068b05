// Elementwise activations and their derivatives.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace qp::train {

// The gradient of exact GELU, 0.5·x·(1 + erf(x/√2)), whose forward is the
// engine's kernels::gelu: dx = dy·GELU'(x), GELU'(x) = Φ(x) + x·φ(x).
void gelu_backward(const float* dy, const float* x, int64_t n, float* dx, ThreadPool& pool);

void tanh_forward(const float* x, int64_t n, float* y, ThreadPool& pool);
// dx = dy·(1 − y²), from the forward's output y.
void tanh_backward(const float* dy, const float* y, int64_t n, float* dx, ThreadPool& pool);

}  // namespace qp::train
