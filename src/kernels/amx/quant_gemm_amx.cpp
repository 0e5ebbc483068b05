// AMX-INT8 quantized GEMM (layout and contract in quant_dispatch.h).
//
// One call covers up to 32 tokens × one 32-wide panel with eight tiles:
// C0..C3 the int32 dots of 16 tokens × 16 outputs each, A0/A1 the int8
// activations of tokens 0–15 / 16–31 (64 depths a row), B0/B1 the codes of
// outputs 0–15 / 16–31 in the VNNI order tdpbsud reads (a tile row is 4
// consecutive depths of 16 outputs). That order is exactly one 128-byte step of
// the 8-bit packed layout, split in halves: B tiles of 8-bit codes load
// straight from the panel with a 128-byte stride; 2- and 4-bit containers are
// expanded to bytes 64 depths at a time (2 KiB on the stack). tdpbsud takes
// signed activations and unsigned codes, the operand signs of the VNNI row, so
// the packed codes are shared with it.
//
// A group's int32 dots go through memory (tilestored) to the float sums:
// s_g·dot + b_g·Σx_q, as in the other rows. A group must be whole 64-depth
// tile rows; other groups, and calls of one or two tokens (where a 16-row tile
// mostly multiplies padding), run the AVX-512 VNNI micro-kernel instead.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC bug 105593, see quant_gemm_avx512.cpp
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/avx512/vmath_avx512.h"
#include "kernels/quant_dispatch.h"

namespace qp::kernels::amx {
namespace {

constexpr int kTileRows = 16;   // tokens per A tile, depth quads per B tile
constexpr int kTileDepth = 64;  // int8 depths per A-tile row
constexpr int kMr = 2 * kTileRows;
constexpr int kStepBytes = 128;  // one packed step: 32 outputs × 4 bytes

// tileloadd has no memory operand the compiler sees, so stores it must read
// (expanded codes, the tile configuration) are pinned before it.
inline void compiler_barrier() { asm volatile("" ::: "memory"); }

// Every tile is 16 rows × 64 bytes; configured once per thread (tile
// configuration is per-thread state that the kernel saves and restores).
void configure_tiles() {
  thread_local bool configured = false;
  if (configured) return;
  struct alignas(64) {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t bytes_per_row[16] = {};
    uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = kTileDepth;
    config.rows[t] = kTileRows;
  }
  compiler_barrier();
  _tile_loadconfig(&config);
  configured = true;
}

// 64 depths of container-C codes (64·C/8·32 bytes) → 16 byte-steps (2 KiB),
// the 8-bit layout: field i of packed step s becomes step s·(8/C) + i.
template <int C>
inline void expand_codes(const uint8_t* w, uint8_t* out) {
  constexpr int kFields = 8 / C, kSteps = kTileDepth * C / 32;
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1 << C) - 1));
#pragma GCC unroll 8
  for (int s = 0; s < kSteps; ++s) {
    const __m512i raw0 = _mm512_loadu_si512(w + kStepBytes * s),
                  raw1 = _mm512_loadu_si512(w + kStepBytes * s + 64);
#pragma GCC unroll 4
    for (int i = 0; i < kFields; ++i) {
      // A 16-bit shift drags the next byte's low bits in; the byte mask drops them.
      uint8_t* dst = out + kStepBytes * (s * kFields + i);
      _mm512_storeu_si512(dst, _mm512_and_si512(_mm512_srli_epi16(raw0, i * C), mask));
      _mm512_storeu_si512(dst + 64, _mm512_and_si512(_mm512_srli_epi16(raw1, i * C), mask));
    }
  }
  compiler_barrier();
}

// The int32 dots of one group for 16 (Two: 32) tokens × 32 outputs into
// dots[32][32]. `w` is the group's first packed step, `x` its first depth.
template <int C, bool Two>
inline void group_dots(const uint8_t* w, const int8_t* x, int64_t ldx, int depth, int32_t* dots) {
  alignas(64) uint8_t expanded[kTileRows * kStepBytes];
  _tile_zero(0);
  _tile_zero(1);
  if constexpr (Two) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int d = 0; d < depth; d += kTileDepth, w += kTileDepth * C / 32 * kStepBytes) {
    const uint8_t* b = w;
    if constexpr (C < 8) {
      expand_codes<C>(w, expanded);
      b = expanded;
    }
    _tile_loadd(6, b, kStepBytes);
    _tile_loadd(7, b + 64, kStepBytes);
    _tile_loadd(4, x + d, ldx);
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 7);
    if constexpr (Two) {
      _tile_loadd(5, x + kTileRows * ldx + d, ldx);
      _tile_dpbsud(2, 5, 6);
      _tile_dpbsud(3, 5, 7);
    }
  }
  _tile_stored(0, dots, kMr * 4);
  _tile_stored(1, dots + 16, kMr * 4);
  if constexpr (Two) {
    _tile_stored(2, dots + kTileRows * kMr, kMr * 4);
    _tile_stored(3, dots + kTileRows * kMr + 16, kMr * 4);
  }
}

// The sums of every token so far (32 outputs each) plus this group's:
// out = s_g·dot + b_g·Σx_q + prev (no prev for the first group). The group's
// scales and biases are loaded once for all tokens.
template <bool First>
[[gnu::always_inline]] inline void add_group(const QuantTile& t, int g, const int32_t* dots, float* sums) {
  const __m512 s0 = _mm512_loadu_ps(t.scales + g * kQuantNr),
               s1 = _mm512_loadu_ps(t.scales + g * kQuantNr + 16);
  const __m512 b0 = _mm512_loadu_ps(t.biases + g * kQuantNr),
               b1 = _mm512_loadu_ps(t.biases + g * kQuantNr + 16);
  for (int r = 0; r < t.rows; ++r) {
    const __m512 xsum = _mm512_set1_ps(t.group_sums[r * t.ldg + g]);
    const int32_t* d = dots + r * kMr;
    float* out = sums + r * kMr;
    const __m512 base0 = First ? _mm512_setzero_ps() : _mm512_load_ps(out),
                 base1 = First ? _mm512_setzero_ps() : _mm512_load_ps(out + 16);
    _mm512_store_ps(
        out, _mm512_fmadd_ps(b0, xsum, _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(d)), s0, base0)));
    _mm512_store_ps(
        out + 16,
        _mm512_fmadd_ps(b1, xsum, _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(d + 16)), s1, base1)));
  }
}

// GELU of rows × 32 outputs in out[32·rows] (in place), four vectors at a
// time: each GELU is a long chain of dependent multiply-adds, so independent
// ones side by side keep the FMA units busy.
inline void gelu_rows(float* out, int rows) {
  int i = 0;
  for (; i + 64 <= 32 * rows; i += 64) {
    const __m512 v0 = avx512::gelu_ps(_mm512_load_ps(out + i)),
                 v1 = avx512::gelu_ps(_mm512_load_ps(out + i + 16)),
                 v2 = avx512::gelu_ps(_mm512_load_ps(out + i + 32)),
                 v3 = avx512::gelu_ps(_mm512_load_ps(out + i + 48));
    _mm512_store_ps(out + i, v0);
    _mm512_store_ps(out + i + 16, v1);
    _mm512_store_ps(out + i + 32, v2);
    _mm512_store_ps(out + i + 48, v3);
  }
  for (; i < 32 * rows; i += 16) _mm512_store_ps(out + i, avx512::gelu_ps(_mm512_load_ps(out + i)));
}

template <int C, bool Two>
void tile(const QuantTile& t) {
  configure_tiles();
  alignas(64) int32_t dots[kMr * kMr];
  alignas(64) float sums[kMr * kMr];  // per token and output: Σ_g s_g·dot_g + b_g·Σx_q, then the output
  const int groups = t.k / t.group;
  const int64_t group_bytes = int64_t{t.group} * C / 32 * kStepBytes;
  for (int g = 0; g < groups; ++g) {
    group_dots<C, Two>(t.codes + g * group_bytes, t.xq + int64_t{g} * t.group, t.ldx, t.group, dots);
    if (g == 0)
      add_group<true>(t, g, dots, sums);
    else
      add_group<false>(t, g, dots, sums);
  }
  // a·sum + bias, GELU if asked (over the whole block), then the valid columns of y.
  for (int r = 0; r < t.rows; ++r) {
    const __m512 a = _mm512_set1_ps(t.act_scale[r]);
    for (int h = 0; h < 2; ++h) {
      float* v = sums + r * kMr + 16 * h;
      const __m512 bias = t.bias ? _mm512_loadu_ps(t.bias + 16 * h) : _mm512_setzero_ps();
      _mm512_store_ps(v, _mm512_fmadd_ps(a, _mm512_load_ps(v), bias));
    }
  }
  if (t.epilogue == Epilogue::Gelu) gelu_rows(sums, t.rows);
  const __mmask16 masks[2] = {avx512::first_lanes(t.cols),
                              t.cols > 16 ? avx512::first_lanes(t.cols - 16) : __mmask16(0)};
  for (int r = 0; r < t.rows; ++r) {
    _mm512_mask_storeu_ps(t.y + r * t.ldy, masks[0], _mm512_load_ps(sums + r * kMr));
    _mm512_mask_storeu_ps(t.y + r * t.ldy + 16, masks[1], _mm512_load_ps(sums + r * kMr + 16));
  }
}

template <int C>
void tile_rows(const QuantTile& t) {
  if (t.rows > kTileRows)
    tile<C, true>(t);
  else
    tile<C, false>(t);
}

// Below this many tokens the VNNI micro-kernel does less work than a tile of
// 16 rows (a tdpbsud costs about as much as 16 tokens' vpdpbusd on one panel).
constexpr int kMinTileTokens = 3;

void gemm_tile(const QuantTile& t) {
  if (t.group % kTileDepth != 0 || t.rows < kMinTileTokens) {
    // The VNNI row, in calls of its own height over the same plain rows.
    const QuantKernelTable& vnni = avx512::kQuantTable;
    for (int r = 0; r < t.rows; r += vnni.mr) {
      QuantTile part = t;
      part.rows = std::min(vnni.mr, t.rows - r);
      part.xq = t.xq + r * t.ldx;
      part.act_scale = t.act_scale + r;
      part.group_sums = t.group_sums + r * t.ldg;
      part.y = t.y + r * t.ldy;
      vnni.gemm_tile(part);
    }
    return;
  }
  switch (code_container_bits(t.bits)) {
    case 2:
      return tile_rows<2>(t);
    case 4:
      return tile_rows<4>(t);
    default:
      return tile_rows<8>(t);
  }
}

float quantize_row(const float* x, int k, int group, int8_t* x_q, float* group_sums, int64_t quad_stride) {
  return avx512::kQuantTable.quantize_row(x, k, group, x_q, group_sums, quad_stride);
}

// Four independent accumulator tiles, each tdpbsud 16·16·64 multiply-adds.
int32_t int8_peak(int64_t iterations) {
  configure_tiles();
  alignas(64) int8_t a[kTileRows * kTileDepth];
  alignas(64) int32_t out[kTileRows * kTileRows];
  std::memset(a, 1, sizeof a);
  compiler_barrier();
  _tile_loadd(4, a, kTileDepth);
  _tile_loadd(6, a, kTileDepth);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t it = 0; it < iterations; ++it) {
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 6);
    _tile_dpbsud(2, 4, 6);
    _tile_dpbsud(3, 4, 6);
  }
  _tile_stored(0, out, kTileRows * 4);
  int32_t sum = out[0];
  _tile_stored(1, out, kTileRows * 4);
  sum += out[1];
  _tile_stored(2, out, kTileRows * 4);
  sum += out[2];
  _tile_stored(3, out, kTileRows * 4);
  return sum + out[3];
}

}  // namespace

const QuantKernelTable kQuantTable = {.isa = Isa::Amx,
                                      .mr = kMr,
                                      .quantize_row = quantize_row,
                                      .gemm_tile = gemm_tile,
                                      .int8_peak = int8_peak,
                                      .peak_ops_per_iteration = 4 * kTileRows * kTileRows * kTileDepth * 2,
                                      .row_padding = kTileRows};

}  // namespace qp::kernels::amx
