// AVX2 row ops. Ragged tails use maskload/maskstore (masked-off lanes never
// fault) through load_first/store_first;
// no std:: templates here (see vmath_avx2.h on linkage).
#include "kernels/avx2/ops_avx2.h"

#include <immintrin.h>

#include "kernels/avx2/vmath_avx2.h"

namespace qp::kernels::avx2 {

void gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int left = n - i < 8 ? static_cast<int>(n - i) : 8;
    store_first(x + i, left, gelu_ps(load_first(x + i, left)));
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
    __m256 v = load_first(x + i, cols - i);
    if (residual) v = _mm256_add_ps(v, load_first(residual + i, cols - i));
    store_first(out + i, cols - i, v);
    sum = _mm256_add_ps(sum, v);  // lanes past cols are zero
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
        _mm256_and_ps(_mm256_sub_ps(load_first(out + i, cols - i), mean), _mm256_castsi256_ps(m));
    squares = _mm256_fmadd_ps(d, d, squares);
  }
  const float var = reduce_add(squares) / static_cast<float>(cols);
  const __m256 inv_std = _mm256_set1_ps(1.0f / _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(var + eps))));
  for (int i = 0; i < cols; i += 8) {
    const int n = cols - i;
    const __m256 d = _mm256_mul_ps(_mm256_sub_ps(load_first(out + i, n), mean), inv_std);
    store_first(out + i, n, _mm256_fmadd_ps(d, load_first(gamma + i, n), load_first(beta + i, n)));
  }
}

// As the AVX-512 row: scale inside exp's argument, multiply by 1/sum.
void softmax_row(float* x, int n, float scale) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 max = neg_inf;
  for (int i = 0; i < n; i += 8) {
    const __m256 v = _mm256_mul_ps(load_first(x + i, n - i), s);
    max = _mm256_max_ps(
        max, n - i >= 8 ? v : _mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(first_lanes(n - i))));
  }
  const __m256 row_max = _mm256_set1_ps(reduce_max(max));
  __m256 sum = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256 e = exp_ps(_mm256_fmsub_ps(load_first(x + i, n - i), s, row_max));
    store_first(x + i, n - i, e);
    sum = _mm256_add_ps(sum, n - i >= 8 ? e : _mm256_and_ps(e, _mm256_castsi256_ps(first_lanes(n - i))));
  }
  const __m256 inverse = _mm256_set1_ps(1.0f / reduce_add(sum));
  for (int i = 0; i < n; i += 8) store_first(x + i, n - i, _mm256_mul_ps(load_first(x + i, n - i), inverse));
}

}  // namespace qp::kernels::avx2
