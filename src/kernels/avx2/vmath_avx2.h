// Vector exp, erf and GELU on 8 floats, for the AVX2 translation units only.
// Internal linkage throughout, so the linker can never hand these AVX2 bodies
// to baseline callers.
#pragma once

#include <immintrin.h>

#include "kernels/erf_coeffs.h"

namespace qp::kernels::avx2 {
namespace {

template <int N>
inline __m256 horner(const float (&c)[N], __m256 t) {
  __m256 r = _mm256_set1_ps(c[N - 1]);
  for (int i = N - 2; i >= 0; --i) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(c[i]));
  return r;
}

// exp(x) as in the AVX-512 variant, but 2ⁿ is built in the exponent field, so
// x is clamped to keep n in [-126, 127] (results below ~1e-38 are not zero,
// which no caller can tell apart after a sum).
// The clamp keeps x as the *second* operand of min/max: vminps/vmaxps return
// the second operand when either is NaN, so NaN goes through as NaN, as
// std::exp does (clamping it turned NaN scores into plausible numbers).
inline __m256 exp_ps(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.33f), _mm256_min_ps(_mm256_set1_ps(88.37f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  static constexpr float kTaylor[8] = {1.0f,      1.0f,       1.0f / 2,   1.0f / 6,
                                       1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(horner(kTaylor, r), _mm256_castsi256_ps(bits));
}

// erf(x) as in the AVX-512 variant: vpermps picks each lane's coefficient
// of its half-unit interval from the 8 of a table row.
inline __m256 erf_ps(__m256 x) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(sign_bit, x);
  const __m256i interval =
      _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(a, _mm256_set1_ps(kErfIntervalsPerUnit))),
                       _mm256_set1_epi32(kErfIntervals - 1));
  const __m256 t =
      _mm256_fnmadd_ps(_mm256_cvtepi32_ps(interval), _mm256_set1_ps(1.0f / kErfIntervalsPerUnit), a);
  auto coefficient = [&](int j) { return _mm256_permutevar8x32_ps(_mm256_loadu_ps(kErfTable[j]), interval); };
  constexpr int kTerms = sizeof kErfTable / sizeof kErfTable[0];
  __m256 r = coefficient(kTerms - 1);
  for (int j = kTerms - 2; j >= 0; --j) r = _mm256_fmadd_ps(r, t, coefficient(j));
  r = _mm256_blendv_ps(r, _mm256_set1_ps(1.0f), _mm256_cmp_ps(a, _mm256_set1_ps(kErfSaturate), _CMP_GE_OQ));
  return _mm256_or_ps(r, _mm256_and_ps(x, sign_bit));
}

inline __m256 gelu_ps(__m256 x) {
  const __m256 e = erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// All-ones in the first n lanes (n may be ≤ 0 or ≥ 8), for maskload/maskstore.
inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The first min(n, 8) floats at p (zeros after them). vmaskmovps is slow on
// some cores (a masked store is microcoded on AMD Zen: it cost softmax and
// LayerNorm a third of their time here), so whole vectors take plain moves
// and only a ragged tail is masked.
inline __m256 load_first(const float* p, int n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes(n));
}
inline void store_first(float* p, int n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, first_lanes(n), v);
}

}  // namespace
}  // namespace qp::kernels::avx2
