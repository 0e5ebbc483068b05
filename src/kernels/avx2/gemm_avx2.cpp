// AVX2 fp32 GEMM micro-kernel: a 6 × 16 tile of C in 12 ymm registers, leaving
// room for two panel loads and one broadcast out of the 16 registers.
#include <immintrin.h>

#include "kernels/avx2/ops_avx2.h"
#include "kernels/avx2/vmath_avx2.h"
#include "kernels/dispatch.h"

namespace qp::kernels::avx2 {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

inline __m256 finish(__m256 v, const float* bias, bool gelu) {
  if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
  return gelu ? gelu_ps(v) : v;
}

// The row loops are unrolled so GCC keeps acc0/acc1 in registers instead of
// storing the arrays back to the stack on every k step.
template <int R>
void tile(const GemmTile& t) {
  __m256 acc0[R], acc1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (t.accumulate) {
      acc0[r] = load_first(t.c + r * t.ldc, t.cols);
      acc1[r] = load_first(t.c + r * t.ldc + 8, t.cols - 8);
    } else {
      acc0[r] = _mm256_setzero_ps();
      acc1[r] = _mm256_setzero_ps();
    }
  }
  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  const int kc = t.kc;  // a local, so the loop bound is not reloaded after every FMA
  for (int kk = 0; kk < kc; ++kk, b += kNr) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
  }
  const float* bias = t.last ? t.bias : nullptr;
  const bool gelu = t.last && t.epilogue == Epilogue::Gelu;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    store_first(t.c + r * t.ldc, t.cols, finish(acc0[r], bias, gelu));
    store_first(t.c + r * t.ldc + 8, t.cols - 8, finish(acc1[r], bias ? bias + 8 : nullptr, gelu));
  }
}

void gemm_tile(const GemmTile& t) {
  switch (t.rows) {
    case 1:
      return tile<1>(t);
    case 2:
      return tile<2>(t);
    case 3:
      return tile<3>(t);
    case 4:
      return tile<4>(t);
    case 5:
      return tile<5>(t);
    default:
      return tile<6>(t);
  }
}

// 12 independent FMA chains cover the 4-cycle latency of two FMA pipes.
constexpr int kPeakChains = 12;

float fma_peak(int64_t iterations) {
  __m256 acc[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  __m256 sum = acc[0];
  for (int i = 1; i < kPeakChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

}  // namespace

const KernelTable kTable = {Isa::Avx2, kMr,         kNr,      gemm_tile,          layer_norm_row,
                            gelu,      softmax_row, fma_peak, kPeakChains * 8 * 2};

}  // namespace qp::kernels::avx2
