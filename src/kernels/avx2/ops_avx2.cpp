// AVX2 row ops. Tails use maskload/maskstore (masked-off lanes never fault);
// no std:: templates here (see vmath_avx2.h on linkage).
#include "kernels/avx2/ops_avx2.h"

#include <immintrin.h>

#include "kernels/avx2/vmath_avx2.h"

namespace qp::kernels::avx2 {

void gelu(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_ps(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = first_lanes(static_cast<int>(n - i));
    _mm256_maskstore_ps(x + i, m, gelu_ps(_mm256_maskload_ps(x + i, m)));
  }
}

namespace {

float reduce_add(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float reduce_max(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// out = x + residual (or x), returning the row sum.
float add_rows(const float* x, const float* residual, float* out, int cols) {
  __m256 sum = _mm256_setzero_ps();
  for (int i = 0; i < cols; i += 8) {
    const __m256i m = first_lanes(cols - i);
    __m256 v = _mm256_maskload_ps(x + i, m);
    if (residual) v = _mm256_add_ps(v, _mm256_maskload_ps(residual + i, m));
    _mm256_maskstore_ps(out + i, m, v);
    sum = _mm256_add_ps(sum, v);
  }
  return reduce_add(sum);
}

}  // namespace

void layer_norm_row(const float* x, const float* residual, float* out, int cols, const float* gamma,
                    const float* beta, float eps) {
  const __m256 mean = _mm256_set1_ps(add_rows(x, residual, out, cols) / static_cast<float>(cols));
  __m256 squares = _mm256_setzero_ps();
  for (int i = 0; i < cols; i += 8) {
    const __m256i m = first_lanes(cols - i);
    const __m256 d =
        _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(out + i, m), mean), _mm256_castsi256_ps(m));
    squares = _mm256_fmadd_ps(d, d, squares);
  }
  const float var = reduce_add(squares) / static_cast<float>(cols);
  const __m256 inv_std = _mm256_set1_ps(1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(var + eps))));
  for (int i = 0; i < cols; i += 8) {
    const __m256i m = first_lanes(cols - i);
    const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(out + i, m), mean), inv_std);
    const __m256 y = _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + i, m), _mm256_maskload_ps(beta + i, m));
    _mm256_maskstore_ps(out + i, m, y);
  }
}

void softmax_row(float* x, int n, float scale) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 max = neg_inf;
  for (int i = 0; i < n; i += 8) {
    const __m256i m = first_lanes(n - i);
    const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), s);
    _mm256_maskstore_ps(x + i, m, v);
    max = _mm256_max_ps(max, _mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(m)));
  }
  const __m256 row_max = _mm256_set1_ps(reduce_max(max));
  __m256 sum = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256i m = first_lanes(n - i);
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), row_max));
    _mm256_maskstore_ps(x + i, m, e);
    sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(m)));
  }
  const __m256 total = _mm256_set1_ps(reduce_add(sum));
  for (int i = 0; i < n; i += 8) {
    const __m256i m = first_lanes(n - i);
    _mm256_maskstore_ps(x + i, m, _mm256_div_ps(_mm256_maskload_ps(x + i, m), total));
  }
}

}  // namespace qp::kernels::avx2
