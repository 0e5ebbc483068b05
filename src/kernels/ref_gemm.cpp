// Scalar reference GEMM micro-kernel: the oracle every ISA variant is tested
// against. Plain float arithmetic, k summed in order, bias added last.
#include <cmath>

#include "kernels/dispatch.h"
#include "kernels/ref_ops.h"

namespace qp::kernels::ref {
namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

void gemm_tile(const GemmTile& t) {
  float acc[kMr][kNr] = {};
  for (int r = 0; r < t.rows; ++r)
    for (int j = 0; j < t.cols; ++j) acc[r][j] = t.accumulate ? t.c[r * t.ldc + j] : 0.0f;
  for (int kk = 0; kk < t.kc; ++kk) {
    const float* b = t.b + kk * kNr;
    for (int r = 0; r < t.rows; ++r) {
      const float a = t.a[r * t.lda + kk];
      for (int j = 0; j < kNr; ++j) acc[r][j] += a * b[j];
    }
  }
  for (int r = 0; r < t.rows; ++r) {
    for (int j = 0; j < t.cols; ++j) {
      float v = acc[r][j];
      if (t.last && t.bias) v += t.bias[j];
      if (t.last && t.epilogue == Epilogue::Gelu) v = gelu_value(v);
      t.c[r * t.ldc + j] = v;
    }
  }
}

// Baseline x86-64 has no FMA: 12 independent multiply-add chains in SSE
// scalar registers (two flops each).
constexpr int kPeakChains = 12;

float fma_peak(int64_t iterations) {
  float acc[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) acc[i] = static_cast<float>(i);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kPeakChains; ++i) acc[i] = acc[i] * 0.999999f + 1e-6f;
  float sum = 0.0f;
  for (float v : acc) sum += v;
  return sum;
}

}  // namespace

const KernelTable kTable = {Isa::Scalar, kMr,         kNr,      gemm_tile,      layer_norm_row,
                            gelu,        softmax_row, fma_peak, kPeakChains * 2};

}  // namespace qp::kernels::ref
