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

}  // namespace

const KernelTable kTable = {Isa::Scalar, kMr, kNr, gemm_tile, layer_norm_row, gelu, softmax_row};

}  // namespace qp::kernels::ref
