#include "train/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"

namespace qp::train {

void transpose(const float* in, int rows, int cols, float* out, ThreadPool& pool) {
  // Tiles of 32 × 32 keep both sides' cache lines in use.
  constexpr int kTile = 32;
  const int row_tiles = (rows + kTile - 1) / kTile;
  pool.parallel_for(row_tiles, [&](int64_t begin, int64_t end) {
    for (int64_t rt = begin; rt < end; ++rt) {
      const int r0 = static_cast<int>(rt) * kTile, r1 = std::min(rows, r0 + kTile);
      for (int c0 = 0; c0 < cols; c0 += kTile) {
        const int c1 = std::min(cols, c0 + kTile);
        for (int r = r0; r < r1; ++r)
          for (int c = c0; c < c1; ++c)
            out[static_cast<int64_t>(c) * rows + r] = in[static_cast<int64_t>(r) * cols + c];
      }
    }
  });
}

void matmul_abt(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool) {
  if (m <= 0 || n <= 0) return;
  if (k == 0) {
    std::fill(c, c + static_cast<int64_t>(m) * n, 0.0f);
    return;
  }
  const kernels::LinearF32 right(b, n, k, nullptr);
  right.forward(a, m, c, pool);
}

void matmul_ab(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool) {
  std::vector<float> bt(static_cast<size_t>(k) * n);
  transpose(b, k, n, bt.data(), pool);
  matmul_abt(a, bt.data(), c, m, n, k, pool);
}

void matmul_atb(const float* a, const float* b, float* c, int m, int n, int k, ThreadPool& pool) {
  std::vector<float> at(static_cast<size_t>(m) * k), bt(static_cast<size_t>(n) * k);
  transpose(a, k, m, at.data(), pool);
  transpose(b, k, n, bt.data(), pool);
  matmul_abt(at.data(), bt.data(), c, m, n, k, pool);
}

}  // namespace qp::train
