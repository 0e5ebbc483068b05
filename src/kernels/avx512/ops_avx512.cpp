// AVX-512 row ops. Tails use masked loads and stores instead of scalar loops;
// no std:: templates here (see vmath_avx512.h on linkage).
#include "kernels/avx512/ops_avx512.h"

#include <immintrin.h>

// GCC 12's AVX-512 headers pass _mm512_undefined_ps() through, which trips
// false uninitialized warnings once inlined (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/avx512/vmath_avx512.h"

namespace qp::kernels::avx512 {

void gelu(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu_ps(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = first_lanes(static_cast<int>(n - i));
    _mm512_mask_storeu_ps(x + i, m, gelu_ps(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

namespace {

// out = x + residual (or x), returning the row sum.
float add_rows(const float* x, const float* residual, float* out, int cols) {
  __m512 sum = _mm512_setzero_ps();
  for (int i = 0; i < cols; i += 16) {
    const __mmask16 m = first_lanes(cols - i);
    __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual + i));
    _mm512_mask_storeu_ps(out + i, m, v);
    sum = _mm512_add_ps(sum, v);
  }
  return _mm512_reduce_add_ps(sum);
}

}  // namespace

void layer_norm_row(const float* x, const float* residual, float* out, int cols, const float* gamma,
                    const float* beta, float eps) {
  const float mean_s = add_rows(x, residual, out, cols) / static_cast<float>(cols);
  const __m512 mean = _mm512_set1_ps(mean_s);
  __m512 squares = _mm512_setzero_ps();
  for (int i = 0; i < cols; i += 16) {
    const __mmask16 m = first_lanes(cols - i);
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, out + i), mean);
    squares = _mm512_fmadd_ps(d, d, squares);
  }
  const float var = _mm512_reduce_add_ps(squares) / static_cast<float>(cols);
  const float inv_std_s = 1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(var + eps)));
  const __m512 inv_std = _mm512_set1_ps(inv_std_s);
  for (int i = 0; i < cols; i += 16) {
    const __mmask16 m = first_lanes(cols - i);
    const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, out + i), mean), inv_std);
    const __m512 y =
        _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + i), _mm512_maskz_loadu_ps(m, beta + i));
    _mm512_mask_storeu_ps(out + i, m, y);
  }
}

// Two passes over the row and a scaling one: the scale goes into exp's
// argument (x·s − max, one rounding), and the row is multiplied by 1/sum
// instead of divided (vdivps costs several multiplies' time).
void softmax_row(float* x, int n, float scale) {
  const __m512 s = _mm512_set1_ps(scale);
  __m512 max = _mm512_set1_ps(-__builtin_inff());
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    max = _mm512_mask_max_ps(max, m, max, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s));
  }
  const __m512 row_max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
  __m512 sum = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512 e = exp_ps(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, x + i), s, row_max));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inverse));
  }
}

}  // namespace qp::kernels::avx512
