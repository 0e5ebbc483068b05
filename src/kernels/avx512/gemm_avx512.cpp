// AVX-512 fp32 GEMM micro-kernel: an 8 × 32 tile of C lives in 16 zmm
// registers; each k step loads one 32-wide row of the packed panel and
// broadcasts one A value per row (16 independent FMA chains hide the latency).
#include <immintrin.h>

// GCC 12's AVX-512 headers pass _mm512_undefined_ps() through, which trips
// false uninitialized warnings once inlined (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/avx512/ops_avx512.h"
#include "kernels/avx512/vmath_avx512.h"
#include "kernels/dispatch.h"

namespace qp::kernels::avx512 {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 32;

// The row loops are unrolled so GCC keeps acc0/acc1 in registers instead of
// storing the arrays back to the stack on every k step.
template <int R>
void tile(const GemmTile& t) {
  const __mmask16 m0 = first_lanes(t.cols);
  const __mmask16 m1 = t.cols > 16 ? first_lanes(t.cols - 16) : __mmask16(0);
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (t.accumulate) {
      acc0[r] = _mm512_maskz_loadu_ps(m0, t.c + r * t.ldc);
      acc1[r] = _mm512_maskz_loadu_ps(m1, t.c + r * t.ldc + 16);
    } else {
      acc0[r] = _mm512_setzero_ps();
      acc1[r] = _mm512_setzero_ps();
    }
  }
  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  const int kc = t.kc;  // a local, so the loop bound is not reloaded after every FMA
  for (int kk = 0; kk < kc; ++kk, b += kNr) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
  }
  const bool bias = t.last && t.bias;
  const bool gelu = t.last && t.epilogue == Epilogue::Gelu;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m512 v0 = acc0[r], v1 = acc1[r];
    if (bias) {
      v0 = _mm512_add_ps(v0, _mm512_loadu_ps(t.bias));
      v1 = _mm512_add_ps(v1, _mm512_loadu_ps(t.bias + 16));
    }
    if (gelu) {
      v0 = gelu_ps(v0);
      v1 = gelu_ps(v1);
    }
    _mm512_mask_storeu_ps(t.c + r * t.ldc, m0, v0);
    _mm512_mask_storeu_ps(t.c + r * t.ldc + 16, m1, v1);
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
    case 6:
      return tile<6>(t);
    case 7:
      return tile<7>(t);
    default:
      return tile<8>(t);
  }
}

// 12 independent FMA chains cover the 4-cycle latency of two FMA pipes.
constexpr int kPeakChains = 12;

float fma_peak(int64_t iterations) {
  __m512 acc[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  __m512 sum = acc[0];
  for (int i = 1; i < kPeakChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

}  // namespace

const KernelTable kTable = {Isa::Avx512, kMr,         kNr,      gemm_tile,           layer_norm_row,
                            gelu,        softmax_row, fma_peak, kPeakChains * 16 * 2};

}  // namespace qp::kernels::avx512
