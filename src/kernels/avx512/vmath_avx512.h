// Vector exp, erf and GELU on 16 floats, for the AVX-512 translation units
// only. Everything here has internal linkage: an inline function with external
// linkage compiled with AVX-512 flags could be picked by the linker for
// baseline callers and fault on older CPUs.
#pragma once

#include <immintrin.h>

#include "kernels/erf_coeffs.h"

namespace qp::kernels::avx512 {
namespace {

template <int N>
inline __m512 horner(const float (&c)[N], __m512 t) {
  __m512 r = _mm512_set1_ps(c[N - 1]);
  for (int i = N - 2; i >= 0; --i) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(c[i]));
  return r;
}

// exp(x): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2_hi is
// exact), exp(r) by its Taylor series to r⁷ (relative error < 1e-8 before
// rounding), then scalef multiplies by 2ⁿ, flushing gracefully to 0.
// NaN stays NaN: x is the second operand of min/max (see vmath_avx2.h).
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(88.7f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  static constexpr float kTaylor[8] = {1.0f,      1.0f,       1.0f / 2,   1.0f / 6,
                                       1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
  return _mm512_scalef_ps(horner(kTaylor, r), n);
}

// erf(x): each lane evaluates the polynomial of its own half-unit interval
// (erf_coeffs.h), its coefficients picked by vpermps on the interval index, so
// a vector costs one permute and one multiply-add per coefficient. Lanes at
// |x| ≥ 4 become 1; NaN converts to INT_MIN, picks interval 0 and stays NaN.
inline __m512 erf_ps(__m512 x) {
  const __m512 sign_bit = _mm512_set1_ps(-0.0f);
  const __m512 a = _mm512_andnot_ps(sign_bit, x);
  const __m512i interval =
      _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(kErfIntervalsPerUnit))),
                       _mm512_set1_epi32(kErfIntervals - 1));
  // a − i/2, exact (both within a factor of two of each other, or i = 0).
  const __m512 t =
      _mm512_fnmadd_ps(_mm512_cvtepi32_ps(interval), _mm512_set1_ps(1.0f / kErfIntervalsPerUnit), a);
  auto coefficient = [&](int j) {
    return _mm512_permutexvar_ps(interval, _mm512_castps256_ps512(_mm256_loadu_ps(kErfTable[j])));
  };
  constexpr int kTerms = sizeof kErfTable / sizeof kErfTable[0];
  __m512 r = coefficient(kTerms - 1);
  for (int j = kTerms - 2; j >= 0; --j) r = _mm512_fmadd_ps(r, t, coefficient(j));
  r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(kErfSaturate), _CMP_GE_OQ), r,
                           _mm512_set1_ps(1.0f));
  return _mm512_or_ps(r, _mm512_and_ps(x, sign_bit));
}

inline __m512 gelu_ps(__m512 x) {
  const __m512 e = erf_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// Mask of the first n (≤ 16) lanes.
inline __mmask16 first_lanes(int n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

}  // namespace
}  // namespace qp::kernels::avx512
