// Scalar reference element-wise and row ops (see dispatch.h for contracts).
#pragma once

#include <cstdint>

namespace qp::kernels::ref {

float gelu_value(float x);
void gelu(float* x, int64_t n);
void layer_norm_row(const float* x, const float* residual, float* out, int cols, const float* gamma,
                    const float* beta, float eps);
void softmax_row(float* x, int n, float scale);

}  // namespace qp::kernels::ref
