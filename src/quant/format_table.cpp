// The weight format table and the scalar reference rules of every row.
#include "quant/format_table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/half.h"

namespace qp::quant {

float round_value(float value, Rounding rounding) {
  switch (rounding) {
    case Rounding::Nearest:
      break;
  }
  return std::rint(value);
}

namespace {

// MLX's affine rule (see format_table.h), kept in float as MLX computes it so the
// same weights give the same scales, biases and codes.
GroupParams fit_affine(const float* w, int64_t count, int bits, const QuantOptions&) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  const float eps = 1e-7f;
  float lo = std::numeric_limits<float>::infinity();
  float hi = -lo;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  const bool low_end_larger = std::fabs(lo) > std::fabs(hi);
  float scale = std::max((hi - lo) / n_bins, eps);
  if (!low_end_larger) scale = -scale;
  const float edge = low_end_larger ? lo : hi;
  const float q0 = std::rint(edge / scale);
  GroupParams params{scale, 0.0f};
  if (q0 != 0.0f) {
    params.scale = edge / q0;  // makes 0.0 land on the integer code −q0
    params.bias = edge;
  }
  return params;
}

void encode_affine(const float* w, int64_t count, int bits, GroupParams p, const QuantOptions& options,
                   uint8_t* codes) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  for (int64_t i = 0; i < count; ++i) {
    const float q = round_value((w[i] - p.bias) / p.scale, options.rounding);
    codes[i] = static_cast<uint8_t>(std::clamp(q, 0.0f, n_bins));
  }
}

int symmetric_offset(int bits) { return 1 << (bits - 1); }

GroupParams fit_symmetric(const float* w, int64_t count, int bits, const QuantOptions&) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < count; ++i) absmax = std::max(absmax, std::fabs(w[i]));
  const float qmax = static_cast<float>(symmetric_offset(bits) - 1);
  const float scale = absmax / qmax;
  // −scale·2^(b−1) is exact (a power-of-two multiple), so the zero code decodes
  // to exactly 0: scale·2^(b−1) + bias cancels to 0.0.
  return {scale, -scale * static_cast<float>(symmetric_offset(bits))};
}

void encode_symmetric(const float* w, int64_t count, int bits, GroupParams p, const QuantOptions& options,
                      uint8_t* codes) {
  const int offset = symmetric_offset(bits);
  const float qmax = static_cast<float>(offset - 1);
  for (int64_t i = 0; i < count; ++i) {
    float q = 0.0f;
    if (p.scale > 0.0f) q = std::clamp(round_value(w[i] / p.scale, options.rounding), -qmax, qmax);
    codes[i] = static_cast<uint8_t>(static_cast<int>(q) + offset);
  }
}

GroupParams fit_ternary(const float* w, int64_t count, int, const QuantOptions&) {
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) sum += std::fabs(w[i]);
  const float scale = count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
  return {scale, -scale};
}

void encode_ternary(const float* w, int64_t count, int, GroupParams p, const QuantOptions& options,
                    uint8_t* codes) {
  for (int64_t i = 0; i < count; ++i) {
    int q = 0;
    if (p.scale > 0.0f) {
      const float v = w[i] / p.scale;
      if (std::fabs(v) >= options.ternary_threshold) q = v > 0.0f ? 1 : -1;
    }
    codes[i] = static_cast<uint8_t>(q + 1);
  }
}

void dequantize_affine_row(const uint8_t* codes, int64_t count, int group, const float* scales,
                           const float* biases, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t g = i / group;
    out[i] = scales[g] * static_cast<float>(codes[i]) + biases[g];
  }
}

int32_t dot_i8_u8(const int8_t* x, const uint8_t* codes, int count) {
  int32_t sum = 0;
  for (int i = 0; i < count; ++i) sum += static_cast<int32_t>(x[i]) * static_cast<int32_t>(codes[i]);
  return sum;
}

constexpr int pack_unit_codes(int bits) { return bits == 3 || bits == 5 ? 8 : bits == 6 ? 4 : 32 / bits; }
constexpr int pack_unit_bytes(int bits) { return pack_unit_codes(bits) * bits / 8; }

constexpr WeightFormat symmetric_row(std::string_view name, int bits, std::string_view help) {
  return {name,
          QuantKind::Symmetric,
          bits,
          pack_unit_codes(bits),
          pack_unit_bytes(bits),
          help,
          fit_symmetric,
          encode_symmetric,
          dequantize_affine_row,
          dot_i8_u8};
}

constexpr WeightFormat affine_row(std::string_view name, int bits, std::string_view help) {
  return {name, QuantKind::Affine, bits,          pack_unit_codes(bits), pack_unit_bytes(bits),
          help, fit_affine,        encode_affine, dequantize_affine_row, dot_i8_u8};
}

const std::array<WeightFormat, 13> kFormats = {
    symmetric_row("q8_sym", 8, "8-bit symmetric (absmax), zero exact"),
    symmetric_row("q6_sym", 6, "6-bit symmetric (absmax), zero exact"),
    symmetric_row("q5_sym", 5, "5-bit symmetric (absmax), zero exact"),
    symmetric_row("q4_sym", 4, "4-bit symmetric (absmax), zero exact"),
    symmetric_row("q3_sym", 3, "3-bit symmetric (absmax), zero exact"),
    symmetric_row("q2_sym", 2, "2-bit symmetric (absmax): codes -1, 0, 1"),
    affine_row("q8_affine", 8, "8-bit affine min/max, as mlx.core.quantize"),
    affine_row("q6_affine", 6, "6-bit affine min/max, as mlx.core.quantize"),
    affine_row("q5_affine", 5, "5-bit affine min/max, as mlx.core.quantize"),
    affine_row("q4_affine", 4, "4-bit affine min/max, as mlx.core.quantize (MLX default)"),
    affine_row("q3_affine", 3, "3-bit affine min/max, as mlx.core.quantize"),
    affine_row("q2_affine", 2, "2-bit affine min/max, as mlx.core.quantize"),
    WeightFormat{"ternary", QuantKind::Ternary, 2, pack_unit_codes(2), pack_unit_bytes(2),
                 "ternary {-1, 0, 1} x absmean scale (BitNet b1.58), 2-bit storage", fit_ternary,
                 encode_ternary, dequantize_affine_row, dot_i8_u8},
};

}  // namespace

std::span<const WeightFormat> weight_formats() { return kFormats; }

const WeightFormat& weight_format(QuantKind kind, int bits) {
  for (const WeightFormat& format : kFormats)
    if (format.kind == kind && format.bits == bits) return format;
  const char* kind_name = kind == QuantKind::Ternary     ? "ternary"
                          : kind == QuantKind::Symmetric ? "symmetric"
                                                         : "affine";
  fail("[quant] no weight format for ", kind_name, " codes of ", bits, " bits");
}

GroupParams fit_params(const WeightFormat& format, const float* w, int64_t count,
                       const QuantOptions& options) {
  GroupParams params = format.fit(w, count, format.bits, options);
  if (options.half_scales) {
    params.scale = f16_to_f32(f32_to_f16(params.scale));
    params.bias = f16_to_f32(f32_to_f16(params.bias));
  }
  return params;
}

void quantize_row(const WeightFormat& format, const float* w, int64_t k, int group,
                  const QuantOptions& options, uint8_t* codes, float* scales, float* biases) {
  for (int64_t start = 0, g = 0; start < k; start += group, ++g) {
    const GroupParams params = fit_params(format, w + start, group, options);
    format.encode(w + start, group, format.bits, params, options, codes + start);
    scales[g] = params.scale;
    biases[g] = params.bias;
  }
}

std::string weight_formats_help() {
  std::string text;
  for (const WeightFormat& format : kFormats) {
    std::string name(format.name);
    name.resize(std::max<size_t>(name.size(), 11), ' ');
    text += cat("  ", name, " ", format.bits, " bits  ", format.help, "\n");
  }
  return text;
}

}  // namespace qp::quant
