// AVX2 row ops (contracts in dispatch.h), reached through the dispatch table.
#pragma once

#include <cstdint>

namespace qp::kernels::avx2 {

void gelu(float* x, int64_t n);
void layer_norm_row(const float* x, const float* residual, float* out, int cols, const float* gamma,
                    const float* beta, float eps);
void softmax_row(float* x, int n, float scale);

}  // namespace qp::kernels::avx2
