// The kernel dispatch table: one row of function pointers per ISA, the way
// ggml's type_traits_cpu holds one row per format. Rows live in the ISA's own
// translation units (ref_*.cpp, avx2/, avx512/); this header and dispatch.cpp
// only take their addresses, so no ISA-specific instruction runs before the
// row is chosen from active_isa().
//
// GEMM layout. A weight W[n][k] is packed into panels of `nr` output columns:
// panel p holds, for every kk in [0, k), the nr values W[p·nr + j][kk]
// (j = 0..nr−1, zero past n). A micro-kernel call computes an up to mr × nr
// tile of C from `rows` rows of A and a k-slice of one panel, keeping the tile
// in registers, and fuses bias + epilogue into the final store.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "core/cpu_isa.h"
#include "kernels/kernels.h"

namespace qp::kernels {

// One micro-kernel call. Accumulation order over k is always kk = 0, 1, …,
// so every ISA sums in the same order as the scalar reference.
struct GemmTile {
  const float* a = nullptr;  // rows × kc, row stride lda
  int64_t lda = 0;
  const float* b = nullptr;  // packed panel slice: kc × nr
  float* c = nullptr;        // rows × cols, row stride ldc
  int64_t ldc = 0;
  const float* bias = nullptr;  // nr values (zero-padded) or null; used when last
  int rows = 0;                 // 1..mr
  int cols = 0;                 // 1..nr valid columns
  int kc = 0;                   // k-slice length (≥ 0)
  bool accumulate = false;      // add to the partial sums already in C
  bool last = false;            // final k-slice: add bias, apply the epilogue
  Epilogue epilogue = Epilogue::None;
};

struct KernelTable {
  Isa isa;
  int mr;  // rows per micro-kernel tile
  int nr;  // packed panel width (output columns)
  void (*gemm_tile)(const GemmTile& tile);
  // out = LayerNorm(x + residual)·gamma + beta over one row; residual may be
  // null and out may alias x.
  void (*layer_norm_row)(const float* x, const float* residual, float* out, int cols, const float* gamma,
                         const float* beta, float eps);
  void (*gelu)(float* x, int64_t n);  // exact (erf) GELU in place
  // x[i] = softmax(x·scale)[i] over one row, max subtracted first.
  void (*softmax_row)(float* x, int n, float scale);
  // Peak probe for the benchmarks: `iterations` rounds of independent
  // multiply-adds held in registers, peak_flops_per_iteration flops each.
  float (*fma_peak)(int64_t iterations);
  int peak_flops_per_iteration;
};

// The row for `isa` (Amx uses the Avx512 row: AMX has no fp32 path).
const KernelTable& kernel_table(Isa isa);
// The row for active_isa(); cheap enough to call per operation.
const KernelTable& active_kernel_table();

// Packs W[n][k] (row stride ldw) into ceil(n/nr) panels of nr × k floats
// (see the layout above). `dst` holds panels(n, nr) · nr · k floats.
void pack_panels(const float* w, int64_t ldw, int n, int k, int nr, float* dst);
// Packs the transpose: W[n][k] given as M[k][n] (row stride ldm), i.e. panel
// column j at depth kk is M[kk][p·nr + j]. Attention uses it for V.
void pack_panels_transposed(const float* m, int64_t ldm, int n, int k, int nr, float* dst);

// C[m][n] (row stride ldc) = epilogue(A[m][k]·Wᵀ + bias) with W packed by
// pack_panels for table.nr; single-threaded, rows [m0, m1) and panels
// [p0, p1) only, k split into slices of kc (the partial sums wait in C).
struct PackedGemm {
  const float* a = nullptr;
  int64_t lda = 0;
  const float* packed = nullptr;
  const float* bias = nullptr;  // padded to whole panels, or null
  float* c = nullptr;
  int64_t ldc = 0;
  int n = 0;
  int k = 0;
  Epilogue epilogue = Epilogue::None;
};
void gemm_block(const KernelTable& table, const PackedGemm& g, int m0, int m1, int p0, int p1, int kc);

inline int panel_count(int n, int nr) { return (n + nr - 1) / nr; }

// 64-byte aligned float storage (whole cache lines for the packed panels).
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;
AlignedFloats alloc_floats(int64_t count);

// Row tables of each ISA, defined in their own translation units.
namespace ref {
extern const KernelTable kTable;
}
namespace avx2 {
extern const KernelTable kTable;
}
namespace avx512 {
extern const KernelTable kTable;
}

}  // namespace qp::kernels
