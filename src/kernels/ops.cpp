// Thread-level drivers for the non-GEMM ops: they split rows, elements or
// (sequence, head) pairs over the pool and call the active ISA's row.
#include <algorithm>

#include "core/profiler.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace qp::kernels {

void add_layer_norm(const float* x, const float* residual, float* out, int64_t rows, int cols,
                    const float* gamma, const float* beta, float eps, ThreadPool& pool) {
  const profile::Scope scope(profile::Op::LayerNorm);
  const KernelTable& table = active_kernel_table();
  pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* res = residual ? residual + r * cols : nullptr;
      table.layer_norm_row(x + r * cols, res, out + r * cols, cols, gamma, beta, eps);
    }
  });
}

void gelu(float* x, int64_t n, ThreadPool& pool) {
  const profile::Scope scope(profile::Op::Gelu);
  const KernelTable& table = active_kernel_table();
  // Below this, waking the workers costs more than the work.
  constexpr int64_t kSerialLimit = 16384;
  if (n <= kSerialLimit) {
    table.gelu(x, n);
    return;
  }
  constexpr int64_t kChunk = 1024;
  pool.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t begin, int64_t end) {
    const int64_t lo = begin * kChunk, hi = std::min(n, end * kChunk);
    table.gelu(x + lo, hi - lo);
  });
}

}  // namespace qp::kernels
