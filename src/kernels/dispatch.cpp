#include "kernels/dispatch.h"

#include <algorithm>
#include <new>

namespace qp::kernels {

const KernelTable& kernel_table(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return ref::kTable;
    case Isa::Avx2:
      return avx2::kTable;
    case Isa::Avx512:
    case Isa::Amx:
      return avx512::kTable;
  }
  return ref::kTable;
}

const KernelTable& active_kernel_table() { return kernel_table(active_isa()); }

Isa kernel_isa() { return active_kernel_table().isa; }

AlignedFloats alloc_floats(int64_t count) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  return AlignedFloats(p);
}

void gemm_block(const KernelTable& table, const PackedGemm& g, int m0, int m1, int p0, int p1, int kc) {
  const int nr = table.nr;
  GemmTile t;
  t.lda = g.lda;
  t.ldc = g.ldc;
  t.epilogue = g.epilogue;
  int k0 = 0;
  do {  // runs once even for k = 0, so C still gets bias + epilogue
    t.kc = std::min(kc, g.k - k0);
    t.accumulate = k0 > 0;
    t.last = k0 + t.kc >= g.k;
    // Panel slice outside, row tiles inside: the kc × nr slice stays in L1
    // while every row tile of the block streams past it.
    for (int p = p0; p < p1; ++p) {
      t.b = g.packed + static_cast<int64_t>(p) * nr * g.k + static_cast<int64_t>(k0) * nr;
      t.bias = g.bias ? g.bias + p * nr : nullptr;
      t.cols = std::min(nr, g.n - p * nr);
      for (int r = m0; r < m1; r += table.mr) {
        t.a = g.a + r * g.lda + k0;
        t.c = g.c + r * g.ldc + p * nr;
        t.rows = std::min(table.mr, m1 - r);
        table.gemm_tile(t);
      }
    }
    k0 += t.kc;
  } while (k0 < g.k);
}

void pack_panels(const float* w, int64_t ldw, int n, int k, int nr, float* dst) {
  const int panels = (n + nr - 1) / nr;
  for (int p = 0; p < panels; ++p) {
    float* panel = dst + static_cast<int64_t>(p) * nr * k;
    const int cols = std::min(nr, n - p * nr);
    for (int j = 0; j < nr; ++j) {
      const float* row = w + static_cast<int64_t>(p * nr + j) * ldw;
      for (int kk = 0; kk < k; ++kk) panel[static_cast<int64_t>(kk) * nr + j] = j < cols ? row[kk] : 0.0f;
    }
  }
}

void pack_panels_transposed(const float* m, int64_t ldm, int n, int k, int nr, float* dst) {
  const int panels = (n + nr - 1) / nr;
  for (int p = 0; p < panels; ++p) {
    float* panel = dst + static_cast<int64_t>(p) * nr * k;
    const int cols = std::min(nr, n - p * nr);
    for (int kk = 0; kk < k; ++kk) {
      const float* src = m + kk * ldm + p * nr;
      float* out = panel + static_cast<int64_t>(kk) * nr;
      std::copy(src, src + cols, out);
      std::fill(out + cols, out + nr, 0.0f);
    }
  }
}

}  // namespace qp::kernels
