// K-quants, following ggml-quants.c's reference functions step by step: the
// float expressions keep ggml's order of operations, since the chosen scales
// (and so the bytes) depend on every rounding.
//
// Layouts (little-endian, d and dmin as IEEE half):
//   Q2_K  84 B: scales[16] (4-bit scale | 4-bit min << 4), qs[64] (2-bit), d, dmin
//   Q3_K 110 B: hmask[32] (bit 3 of each code), qs[64] (low 2 bits), scales[12] (16 × 6 bit), d
//   Q4_K 144 B: d, dmin, scales[12] (8 × 6-bit scale and min), qs[128] (4-bit)
//   Q5_K 176 B: d, dmin, scales[12], qh[32] (bit 4), qs[128] (low 4 bits)
//   Q6_K 210 B: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], d
#include "quant/ggml_kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/ggml_common.h"

namespace qp::quant {
namespace {

constexpr int kQK = 256;
constexpr float kGroupMaxEps = 1e-15f;

// Round half to even through the float mantissa, as ggml's nearest_int.
int nearest_int(float value) {
  const float shifted = value + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

float half_value(float value) { return f16_to_f32(f32_to_f16(value)); }

using ggml::get_half;
using ggml::put_half;

// Symmetric codes in [−nmax, nmax) with the scale chosen by weighted least
// squares over 19 trial inverse scales (ggml's make_qx_quants, rmse_type 1:
// weights x²). L gets the codes + nmax.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = ggml::signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<int8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Affine codes in [0, nmax] with scale and (non-positive) min refined by
// weighted least squares over nstep + 1 trial scales (ggml's make_qkx2_quants).
// Returns the scale; *the_min gets −min.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::clamp(l, 0, nmax));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Symmetric codes in [−nmax, nmax) refined one code at a time (ggml's
// make_q3_quants with do_rmse). L gets the codes + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = ggml::signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int new_l = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return sumlx / suml2;
}

// Q4_K / Q5_K: the j-th 6-bit scale and min of the 12 packed bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q4_K / Q5_K share everything but the code width and the search parameters.
void quantize_block_k4(const float* x, int nmax, float rmin, int nstep, uint8_t* scales_out, float* d_out,
                       float* dmin_out, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] =
        make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = static_cast<uint8_t>(
        std::min(63, static_cast<int>(static_cast<uint8_t>(nearest_int(inv_scale * scales[j])))));
    const uint8_t lm = static_cast<uint8_t>(
        std::min(63, static_cast<int>(static_cast<uint8_t>(nearest_int(inv_min * mins[j])))));
    if (j < 4) {
      scales_out[j] = ls;
      scales_out[j + 4] = lm;
    } else {
      scales_out[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      scales_out[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      scales_out[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *d_out = half_value(max_scale / 63.f);
  *dmin_out = half_value(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, scales_out, &sc, &m);
    const float d = *d_out * sc;
    if (d == 0) continue;
    const float dm = *dmin_out * m;
    for (int ii = 0; ii < 32; ++ii)
      L[32 * j + ii] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
  }
}

// 2-bit codes of 128 values into 32 bytes: value j + 32·s at bits 2s of byte j.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

}  // namespace

void quantize_row_q2_k(const float* x, int64_t k, uint8_t* out) {
  const float q4scale = 15.f;
  for (int64_t b = 0; b < k / kQK; ++b, x += kQK, out += 84) {
    uint8_t L[kQK], Laux[16];
    float weights[16], mins[16], scales[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] =
          make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    uint8_t* sc = out;
    float d = 0, dmin = 0;
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      d = half_value(max_scale / q4scale);
    } else {
      std::fill(sc, sc + 16, 0);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < 16; ++j) sc[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
      dmin = half_value(max_min / q4scale);
    }
    for (int j = 0; j < 16; ++j) {
      const float dl = d * (sc[j] & 0xF);
      if (dl == 0) continue;
      const float dm = dmin * (sc[j] >> 4);
      for (int ii = 0; ii < 16; ++ii)
        L[16 * j + ii] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * j + ii] + dm) / dl), 0, 3));
    }
    pack_2bit(L, out + 16);
    put_half(out + 80, d);
    put_half(out + 82, dmin);
  }
}

void quantize_row_q3_k(const float* x, int64_t k, uint8_t* out) {
  for (int64_t b = 0; b < k / kQK; ++b, x += kQK, out += 110) {
    int8_t L[kQK];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    uint8_t* hmask = out;
    uint8_t* qs = out + 32;
    uint8_t* sc = out + 96;
    std::fill(sc, sc + 12, 0);
    float d = 0;
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
        l = static_cast<int8_t>(std::clamp<int>(l, -32, 31) + 32);
        if (j < 8)
          sc[j] = static_cast<uint8_t>(l & 0xF);
        else
          sc[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        l = static_cast<int8_t>(l >> 4);
        sc[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
      }
      d = half_value(1 / iscale);
    }
    for (int j = 0; j < 16; ++j) {
      int scale = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
      scale = (scale | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
      const float dl = d * static_cast<float>(static_cast<int8_t>(scale));
      if (dl == 0) continue;
      for (int ii = 0; ii < 16; ++ii)
        L[16 * j + ii] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + ii] / dl), -4, 3) + 4);
    }
    std::fill(hmask, hmask + 32, 0);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < kQK; ++j) {
      if (L[j] > 3) {
        hmask[m] |= hm;
        L[j] = static_cast<int8_t>(L[j] - 4);
      }
      if (++m == 32) {
        m = 0;
        hm = static_cast<uint8_t>(hm << 1);
      }
    }
    uint8_t codes[kQK];
    for (int j = 0; j < kQK; ++j) codes[j] = static_cast<uint8_t>(L[j]);
    pack_2bit(codes, qs);
    put_half(out + 108, d);
  }
}

void quantize_row_q4_k(const float* x, int64_t k, uint8_t* out) {
  for (int64_t b = 0; b < k / kQK; ++b, x += kQK, out += 144) {
    uint8_t L[kQK];
    float d, dmin;
    quantize_block_k4(x, 15, -1.f, 20, out + 4, &d, &dmin, L);
    put_half(out, d);
    put_half(out + 2, dmin);
    uint8_t* q = out + 16;
    for (int j = 0; j < kQK; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

void quantize_row_q5_k(const float* x, int64_t k, uint8_t* out) {
  for (int64_t b = 0; b < k / kQK; ++b, x += kQK, out += 176) {
    uint8_t L[kQK];
    float d, dmin;
    quantize_block_k4(x, 31, -0.5f, 15, out + 4, &d, &dmin, L);
    put_half(out, d);
    put_half(out + 2, dmin);
    uint8_t* qh = out + 16;
    uint8_t* ql = out + 48;
    std::fill(qh, qh + 32, 0);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQK; n += 64, ql += 32) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= m1;
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
    }
  }
}

void quantize_row_q6_k(const float* x, int64_t k, uint8_t* out) {
  for (int64_t b = 0; b < k / kQK; ++b, x += kQK, out += 210) {
    int8_t L[kQK];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
      const float abs_scale = std::fabs(scales[ib]);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::fill(out, out + 210, 0);
      continue;
    }
    const float iscale = -128.f / max_scale;
    const float d = half_value(1 / iscale);
    int8_t* sc = reinterpret_cast<int8_t*>(out + 192);
    for (int ib = 0; ib < 16; ++ib)
      sc[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < 16; ++j) {
      const float dl = d * sc[j];
      if (dl == 0) continue;
      for (int ii = 0; ii < 16; ++ii)
        L[16 * j + ii] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + ii] / dl), -32, 31) + 32);
    }
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    for (int j = 0; j < kQK; j += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF,
                  q4 = L[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                     ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
      }
    put_half(out + 208, d);
  }
}

void dequantize_row_q2_k(const uint8_t* in, int64_t k, float* y) {
  for (int64_t b = 0; b < k / kQK; ++b, in += 84) {
    const float d = get_half(in + 80), min = get_half(in + 82);
    const uint8_t* sc = in;
    const uint8_t* q = in + 16;
    int is = 0;
    for (int n = 0; n < kQK; n += 128, q += 32)
      for (int shift = 0; shift < 8; shift += 2)
        for (int half = 0; half < 2; ++half) {
          const uint8_t s = sc[is++];
          const float dl = d * (s & 0xF), ml = min * (s >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
        }
  }
}

void dequantize_row_q3_k(const uint8_t* in, int64_t k, float* y) {
  for (int64_t b = 0; b < k / kQK; ++b, in += 110) {
    const uint8_t* hm = in;
    const uint8_t* q = in + 32;
    const uint8_t* sc = in + 96;
    const float d_all = get_half(in + 108);
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < kQK; n += 128, q += 32)
      for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1))
        for (int half = 0; half < 2; ++half, ++is) {
          int scale = is < 8 ? sc[is] & 0xF : sc[is - 8] >> 4;
          scale = (scale | (((sc[8 + is % 4] >> (2 * (is / 4))) & 3) << 4)) - 32;
          const float dl = d_all * static_cast<float>(scale);
          for (int l = 0; l < 16; ++l) {
            const int at = l + 16 * half;
            *y++ = dl * static_cast<float>(((q[at] >> shift) & 3) - ((hm[at] & m) ? 0 : 4));
          }
        }
  }
}

void dequantize_row_q4_k(const uint8_t* in, int64_t k, float* y) {
  for (int64_t b = 0; b < k / kQK; ++b, in += 144) {
    const float d = get_half(in), min = get_half(in + 2);
    const uint8_t* scales = in + 4;
    const uint8_t* q = in + 16;
    for (int j = 0, is = 0; j < kQK; j += 64, q += 32, is += 2) {
      uint8_t sc, m;
      scale_min_k4(is, scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_k(const uint8_t* in, int64_t k, float* y) {
  for (int64_t b = 0; b < k / kQK; ++b, in += 176) {
    const float d = get_half(in), min = get_half(in + 2);
    const uint8_t* scales = in + 4;
    const uint8_t* qh = in + 16;
    const uint8_t* ql = in + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < kQK; j += 64, ql += 32, is += 2) {
      uint8_t sc, m;
      scale_min_k4(is, scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void dequantize_row_q6_k(const uint8_t* in, int64_t k, float* y) {
  for (int64_t b = 0; b < k / kQK; ++b, in += 210) {
    const float d = get_half(in + 208);
    const uint8_t* ql = in;
    const uint8_t* qh = in + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(in + 192);
    for (int n = 0; n < kQK; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
  }
}

}  // namespace qp::quant
