// AVX2 quantized GEMM (layout and contract in quant_dispatch.h), without VNNI:
// vpmaddubsw multiplies u8 codes by s8 activations into saturating s16 pair
// sums, vpmaddwd against ones widens them to int32. Exactness:
//  - codes ≤ 15 (2/3/4-bit): a pair is ≤ 2·15·127 = 3810, so the fields of a
//    step (up to 4 pairs, ≤ 15240) are summed in s16 before one vpmaddwd;
//  - codes ≤ 63 (5/6-bit): a pair is ≤ 16002 < 32767, one vpmaddwd each;
//  - 8-bit codes could saturate (2·255·127 = 64770), so they are stored
//    centred, c = q − 128 (QuantLinear xors them once at load, see
//    centre_8bit_codes), and multiplied as |c| · (±x) with vpsignb moving c's
//    sign onto x: a pair is ≤ 2·128·127 = 32512, exact. The 128·Σx that the
//    centring took away is added back from the group sums (in float: exact
//    for groups up to 1032 deep, one rounding of the sum beyond).
// Register tiles (16 ymm): 5- to 8-bit codes take 4 tokens × 16 outputs, 8
// int32 accumulators, so each weight load and its |c| serve four tokens
// (vpmaddubsw + vpmaddwd share the two vector multiply pipes, and with two
// tokens the loads, vpabsb and broadcasts left them idle a third of the
// time). Narrow codes need their expanded fields and s16 partial sums in
// registers too, so they take 2 tokens × 16 outputs. Float sums across
// groups live in a small stack array, touched once per group.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/avx2/vmath_avx2.h"
#include "kernels/quant_dispatch.h"

namespace qp::kernels::avx2 {
namespace {

constexpr int kQuantMr = 4;

enum class Codes { Narrow, Six, Eight };  // ≤ 4-bit, 5/6-bit, 8-bit (centred)

// Tokens per register tile for each kind of code (see the top).
template <Codes K>
constexpr int kTileRows = K == Codes::Narrow ? 2 : 4;

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

inline __m256i field(__m256i raw, int shift, int c) {
  const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << c) - 1));
  return _mm256_and_si256(_mm256_srli_epi16(raw, shift), mask);
}

// Narrow codes in a C-bit container (8/C fields of 4 depths): all fields
// summed in s16 first, then widened once.
template <int C>
inline __m256i narrow_dot(__m256i raw, const int8_t* x, int64_t quad_stride) {
  __m256i s = _mm256_maddubs_epi16(field(raw, 0, C), broadcast4(x));
#pragma GCC unroll 4
  for (int i = 1; i < 8 / C; ++i)
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(field(raw, i * C, C), broadcast4(x + i * quad_stride)));
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

// GCC otherwise hoists every token's vpsignb/vpmaddubsw of a step ahead of
// the first add, needs eight more registers than there are and spills the
// accumulators on every step. An empty asm that the two sums must pass
// through makes each token finish before the next one starts.
inline void keep_in_order(__m256i& a, __m256i& b) { asm volatile("" : "+x"(a), "+x"(b)); }

// One group of R tokens × 16 outputs: int32 dots over the group's steps. `w`
// points at the half panel's first step of the group; `x` at token 0's first
// x_q of the group (activation addressing as in QuantTile).
template <int C, Codes K, int R>
inline void group_dots(const uint8_t* w, const int8_t* x, int64_t ldx, int64_t quad_stride, int steps,
                       __m256i (&acc)[R][2]) {
  constexpr int kQuads = 8 / C;  // 4-depth quads per step
  const __m256i ones = _mm256_set1_epi16(1);
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int s = 0; s < steps; ++s, w += 128, x += kQuads * quad_stride) {
    const __m256i raw0 = load32(w), raw1 = load32(w + 32);
    if constexpr (K == Codes::Narrow) {
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) {
        acc[r][0] = _mm256_add_epi32(acc[r][0], narrow_dot<C>(raw0, x + r * ldx, quad_stride));
        acc[r][1] = _mm256_add_epi32(acc[r][1], narrow_dot<C>(raw1, x + r * ldx, quad_stride));
      }
    } else if constexpr (K == Codes::Six) {
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256i bx = broadcast4(x + r * ldx);
        acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(raw0, bx), ones));
        acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(raw1, bx), ones));
      }
    } else {
      const __m256i mag0 = _mm256_abs_epi8(raw0), mag1 = _mm256_abs_epi8(raw1);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256i bx = broadcast4(x + r * ldx);
        const __m256i p0 = _mm256_maddubs_epi16(mag0, _mm256_sign_epi8(bx, raw0));
        acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
        const __m256i p1 = _mm256_maddubs_epi16(mag1, _mm256_sign_epi8(bx, raw1));
        acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        keep_in_order(acc[r][0], acc[r][1]);
      }
    }
  }
}

// R tokens starting at row `row0` × 16 outputs starting at output `half`·16.
template <int C, Codes K, int R>
void half_tile(const QuantTile& t, int row0, int half) {
  constexpr int kDepth = 4 * 8 / C;
  const int groups = t.k / t.group, steps = t.group / kDepth;
  const int8_t* xq = t.xq + row0 * t.ldx;
  const float* group_sums = t.group_sums + row0 * t.ldg;
  // Group 0 stores, later groups add; zeroed because GCC cannot see groups ≥ 1.
  alignas(32) float total[R][16] = {};
  for (int g = 0; g < groups; ++g) {
    __m256i acc[R][2];
    group_dots<C, K, R>(t.codes + half * 64 + int64_t{g} * steps * 128,
                        xq + g * (t.group / 4) * t.quad_stride, t.ldx, t.quad_stride, steps, acc);
    const float* sc = t.scales + g * kQuantNr + half * 16;
    const float* bi = t.biases + g * kQuantNr + half * 16;
    for (int r = 0; r < R; ++r) {
      const __m256 sum = _mm256_set1_ps(group_sums[r * t.ldg + g]);
      for (int j = 0; j < 2; ++j) {
        __m256 dot = _mm256_cvtepi32_ps(acc[r][j]);
        // 8-bit dots were taken with centred codes (see top): add 128·Σx back.
        if constexpr (K == Codes::Eight) dot = _mm256_fmadd_ps(sum, _mm256_set1_ps(128.0f), dot);
        const __m256 before = g == 0 ? _mm256_setzero_ps() : _mm256_load_ps(total[r] + 8 * j);
        const __m256 partial = _mm256_fmadd_ps(dot, _mm256_loadu_ps(sc + 8 * j), before);
        _mm256_store_ps(total[r] + 8 * j, _mm256_fmadd_ps(_mm256_loadu_ps(bi + 8 * j), sum, partial));
      }
    }
  }
  const int cols = t.cols - half * 16;
  for (int r = 0; r < R; ++r) {
    const __m256 a = _mm256_set1_ps(t.act_scale[row0 + r]);
    for (int j = 0; j < 2; ++j) {
      const __m256 b = t.bias ? _mm256_loadu_ps(t.bias + half * 16 + 8 * j) : _mm256_setzero_ps();
      __m256 v = _mm256_fmadd_ps(a, _mm256_load_ps(total[r] + 8 * j), b);
      if (t.epilogue == Epilogue::Gelu) v = gelu_ps(v);
      store_first(t.y + (row0 + r) * t.ldy + half * 16 + 8 * j, cols - 8 * j, v);
    }
  }
}

// Rows [row0, row0 + rows) with rows ≤ kTileRows<K>, both halves of the panel.
template <int C, Codes K>
void rows_tile(const QuantTile& t, int row0, int rows) {
  for (int half = 0; half < 2 && half * 16 < t.cols; ++half) {
    switch (rows) {
      case 1:
        half_tile<C, K, 1>(t, row0, half);
        break;
      case 2:
        half_tile<C, K, 2>(t, row0, half);
        break;
      case 3:
        if constexpr (kTileRows<K> >= 3) half_tile<C, K, 3>(t, row0, half);
        break;
      default:
        if constexpr (kTileRows<K> >= 4) half_tile<C, K, 4>(t, row0, half);
    }
  }
}

template <int C, Codes K>
void tile(const QuantTile& t) {
  for (int row0 = 0; row0 < t.rows; row0 += kTileRows<K>)
    rows_tile<C, K>(t, row0, std::min(kTileRows<K>, t.rows - row0));
}

void gemm_tile(const QuantTile& t) {
  if (t.bits <= 2) return tile<2, Codes::Narrow>(t);
  if (t.bits <= 4) return tile<4, Codes::Narrow>(t);
  if (t.bits <= 6) return tile<8, Codes::Six>(t);
  return tile<8, Codes::Eight>(t);
}

// Eight x_q values (two quads: depths 4·q.. and 4·(q+1)..) from eight int32
// lanes already clamped to ±127; the second quad goes quad_stride bytes after
// the first.
inline void store8(int8_t* dst, __m256i q, int n, int64_t quad_stride) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b = _mm_packs_epi16(w, w);
  if (n >= 8 && quad_stride == 4) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), b);
  } else if (n >= 8) {
    const int32_t first = _mm_cvtsi128_si32(b), second = _mm_extract_epi32(b, 1);
    std::memcpy(dst, &first, 4);
    std::memcpy(dst + quad_stride, &second, 4);
  } else {
    alignas(16) int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
    std::memcpy(dst, tmp, static_cast<size_t>(std::min(n, 4)));
    if (n > 4) std::memcpy(dst + quad_stride, tmp + 4, static_cast<size_t>(n - 4));
  }
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Bit-identical to the scalar reference (same absmax, same 127/absmax, and
// cvtps rounds to nearest even as rint does in the default rounding mode).
float quantize_row(const float* x, int k, int group, int8_t* x_q, float* group_sums, int64_t quad_stride) {
  const __m256 sign = _mm256_set1_ps(-0.0f), inf = _mm256_set1_ps(INFINITY);
  __m256 vmax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  for (int i = 0; i < k; i += 8) {
    const __m256 v = _mm256_andnot_ps(sign, load_first(x + i, k - i));
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));  // ±inf or NaN
    vmax = _mm256_max_ps(vmax, v);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  const float absmax = *std::max_element(lanes, lanes + 8);
  const bool non_finite = _mm256_movemask_ps(bad) != 0;
  const int groups = k / group;
  if (non_finite || absmax == 0.0f) {
    for (int q = 0; q < k / 4; ++q) std::memset(x_q + q * quad_stride, 0, 4);
    std::fill_n(group_sums, groups, 0.0f);
    return non_finite ? NAN : 0.0f;  // NaN scale: the output row shows the fault
  }
  const __m256 inverse = _mm256_set1_ps(127.0f / absmax);
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  for (int g = 0; g < groups; ++g) {
    __m256i sum = _mm256_setzero_si256();
    for (int i = g * group; i < (g + 1) * group; i += 8) {
      const int n = (g + 1) * group - i;
      const __m256 v = load_first(x + i, n);
      __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(v, inverse));
      q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
      sum = _mm256_add_epi32(sum, q);
      store8(x_q + i / 4 * quad_stride, q, n, quad_stride);
    }
    group_sums[g] = static_cast<float>(hsum(sum));
  }
  return absmax / 127.0f;
}

// Independent vpmaddubsw → vpmaddwd → vpaddd chains: AVX2's int8 dot rate.
// Each chain feeds its own sum back in, so nothing can be hoisted.
constexpr int kPeakChains = 10;

int32_t int8_peak(int64_t iterations) {
  __m256i acc[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm256_set1_epi32(i);
  const __m256i b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kPeakChains; ++i)
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(acc[i], b), ones));
  __m256i sum = acc[0];
  for (int i = 1; i < kPeakChains; ++i) sum = _mm256_add_epi32(sum, acc[i]);
  return hsum(sum);
}

}  // namespace

const QuantKernelTable kQuantTable = {Isa::Avx2,
                                      kQuantMr,
                                      quantize_row,
                                      gemm_tile,
                                      int8_peak,
                                      kPeakChains * 32 * 2,
                                      /*centre_8bit_codes=*/true,
                                      /*interleaved_activations=*/true};

}  // namespace qp::kernels::avx2
