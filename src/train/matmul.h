// The three matrix products training needs, all on the engine's fp32 GEMM
// (kernels::LinearF32, multithreaded on the pool). Row-major throughout.
//   forward:          Y  = X·Wᵀ     matmul_abt  (W in Hugging Face layout [n × k])
//   input gradient:   dX = dY·W     matmul_ab
//   weight gradient:  dW = dYᵀ·X    matmul_atb
// The GEMM packs its right operand once per call (O(n·k)), which is small
// next to the product (O(m·n·k)) at the batch sizes training uses.
#pragma once

#include "core/thread_pool.h"

namespace qp::train {

// c[m × n] = a[m × k] · b[n × k]ᵀ
void matmul_abt(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool);
// c[m × n] = a[m × k] · b[k × n]
void matmul_ab(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool);
// c[m × n] = a[k × m]ᵀ · b[k × n]
void matmul_atb(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool);

// out[cols × rows] = in[rows × cols]ᵀ
void transpose(const float* in, int rows, int cols, float* out, ThreadPool& pool);

}  // namespace qp::train
