// AVX-512 VNNI quantized GEMM (layout and contract in quant_dispatch.h).
//
// Codes are unsigned and activations signed int8, which is vpdpbusd's operand
// order (u8 × s8, four products summed into each int32 lane), so no offset
// correction is needed. A micro-kernel call keeps up to 4 tokens × 32 outputs
// in registers: 8 int32 accumulators for the current group and 8 float
// accumulators across groups. Each 128-byte step is loaded once and reused by
// every token; 2- and 4-bit containers are expanded in registers (16-bit shift
// + byte mask), so low-bit weights cost fewer bytes from memory.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

// GCC 12's AVX-512 headers pass _mm512_undefined_* through, which trips false
// uninitialized warnings once inlined (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "core/error.h"
#include "kernels/avx512/vmath_avx512.h"
#include "kernels/quant_dispatch.h"

namespace qp::kernels::avx512 {
namespace {

constexpr int kQuantMr = 4;

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

// Few tokens per call (batch 1) leave the kernel short of ALU slots, not of
// vpdpbusd ones, so there field I is only masked in place, never shifted: its
// accumulator then holds 2^(I·C)·dot exactly (every product is a multiple of
// it, and 4·255·127 per step leaves int32 ample room) and is shifted back once
// per group. With more tokens the extra accumulators would not fit.
template <int C, int R>
constexpr bool kInPlace = C < 8 && R <= 2;

// Field I of a container-C step: the codes of 16 outputs × 4 depths.
template <int C, int I, bool InPlace>
inline __m512i field(__m512i raw) {
  if constexpr (C == 8) {
    return raw;
  } else if constexpr (InPlace) {
    return _mm512_and_si512(raw, _mm512_set1_epi8(static_cast<char>(((1 << C) - 1) << (I * C))));
  } else {
    // A 16-bit shift drags the next byte's low bits in above bit 8 − I·C;
    // the byte mask removes them, since I·C + C ≤ 8.
    const __m512i mask = _mm512_set1_epi8(static_cast<char>((1 << C) - 1));
    return _mm512_and_si512(I == 0 ? raw : _mm512_srli_epi16(raw, I * C), mask);
  }
}

// vpdpbusd has a latency of several cycles, so a token needs more than its 2
// accumulators in flight: field/step u of an unrolled block goes to set u % S,
// with S = 4/R sets (8 chains for R ≤ 2; at least one per field when fields
// are masked in place), summed when the group ends.
template <int C, int R>
constexpr int kSets = R >= 3 ? 1 : (4 / R > 8 / C ? 4 / R : 8 / C);

template <int C, int R>
using Sets = __m512i[kSets<C, R>][R][2];

// Field I of one step, for every token, into accumulator set Set.
template <int C, int R, int I, int Set>
inline void step_field(__m512i raw0, __m512i raw1, const int8_t* x, int64_t ldx, Sets<C, R>& acc) {
  const __m512i w0 = field<C, I, kInPlace<C, R>>(raw0), w1 = field<C, I, kInPlace<C, R>>(raw1);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m512i xb = broadcast4(x + r * ldx + 4 * I);
    acc[Set][r][0] = _mm512_dpbusd_epi32(acc[Set][r][0], w0, xb);
    acc[Set][r][1] = _mm512_dpbusd_epi32(acc[Set][r][1], w1, xb);
  }
}

// Fields I.. of step U, field I of step U going to set (U·fields + I) % S.
template <int C, int R, int U, int I = 0>
inline void fields(__m512i raw0, __m512i raw1, const int8_t* x, int64_t ldx, Sets<C, R>& acc) {
  constexpr int kFields = 8 / C;
  if constexpr (I < kFields) {
    step_field<C, R, I, (U * kFields + I) % kSets<C, R>>(raw0, raw1, x, ldx, acc);
    fields<C, R, U, I + 1>(raw0, raw1, x, ldx, acc);
  }
}

// Steps U.. of an unrolled block. Everything that picks a set is a template
// argument, so the sets stay in registers.
template <int C, int R, int Unroll, int U = 0>
inline void block(const uint8_t* w, const int8_t* x, int64_t ldx, Sets<C, R>& acc) {
  if constexpr (U < Unroll) {
    const __m512i raw0 = _mm512_loadu_si512(w + 128 * U), raw1 = _mm512_loadu_si512(w + 128 * U + 64);
    fields<C, R, U>(raw0, raw1, x + U * 32 / C, ldx, acc);
    block<C, R, Unroll, U + 1>(w, x, ldx, acc);
  }
}

// int32 dots of one group: steps unrolled so each set gets its own fields.
template <int C, int R>
inline void group_dots(const uint8_t*& w, const int8_t* x, int64_t ldx, int steps, __m512i (&acc)[R][2]) {
  constexpr int kDepth = 4 * 8 / C, kFields = 8 / C, kSetCount = kSets<C, R>;
  // Enough whole steps per block that every set gets a field.
  constexpr int kUnroll = kSetCount > kFields ? kSetCount / kFields : 1;
  Sets<C, R> sets;
#pragma GCC unroll 4
  for (int u = 0; u < kSetCount; ++u)
    for (int r = 0; r < R; ++r) sets[u][r][0] = sets[u][r][1] = _mm512_setzero_si512();
  int s = 0;
  for (; s + kUnroll <= steps; s += kUnroll, w += 128 * kUnroll, x += kDepth * kUnroll)
    block<C, R, kUnroll>(w, x, ldx, sets);
  for (; s < steps; ++s, w += 128, x += kDepth) block<C, R, 1>(w, x, ldx, sets);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    acc[r][0] = sets[0][r][0];
    acc[r][1] = sets[0][r][1];
    for (int u = 1; u < kSetCount; ++u) {
      // Set u holds field u % fields when masked in place (S is a multiple of it).
      const int shift = kInPlace<C, R> ? (u % kFields) * C : 0;
      acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_srai_epi32(sets[u][r][0], shift));
      acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_srai_epi32(sets[u][r][1], shift));
    }
  }
}

// a·acc + bias, GELU if asked, stored to the valid columns of each token.
// Always inlined: as a call it would take facc through the stack.
template <int R>
[[gnu::always_inline]] inline void finish(const QuantTile& t, __m512 (&facc)[R][2]) {
  const __mmask16 m0 = first_lanes(t.cols);
  const __mmask16 m1 = t.cols > 16 ? first_lanes(t.cols - 16) : __mmask16(0);
  const __m512 b0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
  const __m512 b1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
  const bool gelu = t.epilogue == Epilogue::Gelu;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m512 a = _mm512_set1_ps(t.act_scale[r]);
    __m512 v0 = _mm512_fmadd_ps(a, facc[r][0], b0), v1 = _mm512_fmadd_ps(a, facc[r][1], b1);
    if (gelu) {
      v0 = gelu_ps(v0);
      v1 = gelu_ps(v1);
    }
    _mm512_mask_storeu_ps(t.y + r * t.ldy, m0, v0);
    _mm512_mask_storeu_ps(t.y + r * t.ldy + 16, m1, v1);
  }
}

template <int C, int R>
void tile(const QuantTile& t) {
  constexpr int kDepth = 4 * 8 / C;
  const int groups = t.k / t.group, steps = t.group / kDepth;
  const uint8_t* w = t.codes;
  __m512 facc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r][0] = facc[r][1] = _mm512_setzero_ps();
  for (int g = 0; g < groups; ++g) {
    __m512i acc[R][2];
    group_dots<C, R>(w, t.xq + g * t.group, t.ldx, steps, acc);
    // Exact int32 group dot → float, times the group scale, plus the group
    // bias times Σ x_q (the b·q-independent half of the affine weight).
    const __m512 s0 = _mm512_loadu_ps(t.scales + g * kQuantNr),
                 s1 = _mm512_loadu_ps(t.scales + g * kQuantNr + 16);
    const __m512 c0 = _mm512_loadu_ps(t.biases + g * kQuantNr),
                 c1 = _mm512_loadu_ps(t.biases + g * kQuantNr + 16);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 sum = _mm512_set1_ps(t.group_sums[r * t.ldg + g]);
      facc[r][0] = _mm512_fmadd_ps(c0, sum, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][0]), s0, facc[r][0]));
      facc[r][1] = _mm512_fmadd_ps(c1, sum, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][1]), s1, facc[r][1]));
    }
  }
  finish<R>(t, facc);
}

template <int C>
void tile_rows(const QuantTile& t) {
  switch (t.rows) {
    case 1:
      return tile<C, 1>(t);
    case 2:
      return tile<C, 2>(t);
    case 3:
      return tile<C, 3>(t);
    default:
      return tile<C, 4>(t);
  }
}

void gemm_tile(const QuantTile& t) {
  switch (code_container_bits(t.bits)) {
    case 2:
      return tile_rows<2>(t);
    case 4:
      return tile_rows<4>(t);
    default:
      return tile_rows<8>(t);
  }
}

// Per-token activation quantization, bit-identical to the scalar reference:
// the same absmax, the same 127/absmax, and cvtps rounds to nearest even as
// rint does in the default rounding mode.
float quantize_row(const float* x, int k, int group, int8_t* x_q, float* group_sums, int64_t quad_stride) {
  if (quad_stride != 4) fail("internal: avx512 quantize_row writes plain rows only (quad stride 4)");
  const __m512 sign = _mm512_set1_ps(-0.0f), inf = _mm512_set1_ps(INFINITY);
  __m512 vmax = _mm512_setzero_ps();
  __mmask16 bad = 0;
  for (int i = 0; i < k; i += 16) {
    const __m512 v = _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(first_lanes(k - i), x + i));
    bad |= _mm512_cmp_ps_mask(v, inf, _CMP_NLT_UQ);  // ±inf or NaN
    vmax = _mm512_max_ps(vmax, v);
  }
  const float absmax = _mm512_reduce_max_ps(vmax);
  const int groups = k / group;
  if (bad || absmax == 0.0f) {
    std::memset(x_q, 0, static_cast<size_t>(k));
    std::fill_n(group_sums, groups, 0.0f);
    return bad ? NAN : 0.0f;  // NaN scale: the output row shows the fault
  }
  const __m512 inverse = _mm512_set1_ps(127.0f / absmax);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  for (int g = 0; g < groups; ++g) {
    __m512i sum = _mm512_setzero_si512();
    for (int i = g * group; i < (g + 1) * group; i += 16) {
      const __mmask16 m = first_lanes((g + 1) * group - i);
      __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inverse));
      q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
      sum = _mm512_add_epi32(sum, q);
      _mm512_mask_cvtepi32_storeu_epi8(x_q + i, m, q);
    }
    group_sums[g] = static_cast<float>(_mm512_reduce_add_epi32(sum));
  }
  return absmax / 127.0f;
}

// 12 independent vpdpbusd chains cover its latency on both 256-bit halves.
constexpr int kPeakChains = 12;

int32_t int8_peak(int64_t iterations) {
  __m512i acc[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kPeakChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  __m512i sum = acc[0];
  for (int i = 1; i < kPeakChains; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  return _mm512_reduce_add_epi32(sum);
}

}  // namespace

const QuantKernelTable kQuantTable = {Isa::Avx512, kQuantMr,  quantize_row,
                                      gemm_tile,   int8_peak, kPeakChains * 64 * 2};

}  // namespace qp::kernels::avx512
