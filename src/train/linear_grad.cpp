#include "train/linear_grad.h"

#include <vector>

#include "train/matmul.h"

namespace qp::train {

void linear_forward(const float* x, int t, const float* w, const float* b, int n, int k, float* y,
                    ThreadPool& pool) {
  matmul_abt(x, w, y, t, n, k, pool);
  if (!b) return;
  pool.parallel_for(t, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int j = 0; j < n; ++j) y[r * n + j] += b[j];
  });
}

void linear_backward(const float* dy, const float* x, int t, const float* w, int n, int k, float* dx,
                     bool accumulate_dx, float* dw, float* db, ThreadPool& pool) {
  if (dx) {
    if (accumulate_dx) {
      std::vector<float> part(static_cast<size_t>(t) * k);
      matmul_ab(dy, w, part.data(), t, k, n, pool);
      pool.parallel_for(static_cast<int64_t>(t) * k, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dx[i] += part[i];
      });
    } else {
      matmul_ab(dy, w, dx, t, k, n, pool);
    }
  }
  if (dw) {
    std::vector<float> part(static_cast<size_t>(n) * k);
    matmul_atb(dy, x, part.data(), n, k, t, pool);
    pool.parallel_for(static_cast<int64_t>(n) * k, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) dw[i] += part[i];
    });
  }
  if (db) {
    // Columns split across threads; each sums its columns over every row.
    pool.parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t r = 0; r < t; ++r)
        for (int64_t j = begin; j < end; ++j) db[j] += dy[r * n + j];
    });
  }
}

}  // namespace qp::train
