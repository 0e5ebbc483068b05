// One row per stored weight format: how its scale/bias are chosen, how values
// become codes and back, the integer dot product kernels build on, and the pack
// unit. Quantization, the CLI help text and later the kernel dispatch all read
// this table instead of switching on (kind, bits).
//
// All rows store MLX affine codes (w ≈ scale·q + bias, q unsigned); they differ
// in how scale and bias are chosen:
// - affine:    MLX's rule (mlx/backend/cpu/quantized.cpp, quantize): from the
//              group's min and max, scale = (max − min)/(2^b − 1); the end with the
//              larger magnitude becomes the bias (q = 0 there) and the scale is
//              nudged to edge/rint(edge/scale) so that 0.0 is exactly representable;
//              when max has the larger magnitude the scale is negative. scale is at
//              least 1e-7 in magnitude. Codes = clamp(rint((w − bias)/scale)).
// - symmetric: scale = absmax/(2^(b−1) − 1), signed q = rint(w/scale) stored as
//              q + 2^(b−1) with bias = −scale·2^(b−1), so 0.0 maps to exactly 0.0.
// - ternary:   BitNet b1.58 absmean: scale = mean|w|, q = 0 where |w| < t·scale
//              (t = ternary_threshold, 0.5 = plain rounding) else sign(w); stored as
//              2-bit codes q + 1 with bias = −scale.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "quant/scheme.h"

namespace qp::quant {

// Where smarter rounding (stochastic, error-compensating) plugs in later.
enum class Rounding : uint8_t { Nearest };  // Nearest = rint, ties to even (as MLX)

float round_value(float value, Rounding rounding);

struct QuantOptions {
  Rounding rounding = Rounding::Nearest;
  float ternary_threshold = 0.5f;  // in units of the absmean scale
  // Round every scale and bias to the nearest IEEE half before the codes are
  // chosen, so that formats storing them as half (ggml's blocks in GGUF)
  // hold exactly the values quantpipe computes with (convert --format gguf).
  bool half_scales = false;
};

struct GroupParams {
  float scale = 0.0f;
  float bias = 0.0f;
};

struct WeightFormat {
  std::string_view name;  // "q4_affine", "ternary"
  QuantKind kind;
  int bits;               // stored bits per code
  int pack_codes;         // codes per MLX pack unit (8 for 3/5-bit, 4 for 6-bit, 32/bits else)
  int pack_bytes;         // bytes of that unit
  std::string_view help;  // one line for the CLI
  // Chooses scale and bias for `count` values (a group, a row or a whole tensor).
  GroupParams (*fit)(const float* w, int64_t count, int bits, const QuantOptions& options);
  // Writes the codes of `count` values under params.
  void (*encode)(const float* w, int64_t count, int bits, GroupParams params, const QuantOptions& options,
                 uint8_t* codes);
  // out[i] = scales[i/group]·codes[i] + biases[i/group] for one row of count values.
  void (*dequantize_row)(const uint8_t* codes, int64_t count, int group, const float* scales,
                         const float* biases, float* out);
  // Σ x[i]·codes[i] in int32: the inner product of int8 activations and codes.
  int32_t (*dot)(const int8_t* x, const uint8_t* codes, int count);
};

std::span<const WeightFormat> weight_formats();
// The row for a scheme's kind and bits; throws qp::Error when there is none.
const WeightFormat& weight_format(QuantKind kind, int bits);
inline const WeightFormat& weight_format(const QuantScheme& scheme) {
  return weight_format(scheme.kind, scheme.bits);
}

// format.fit, then the scale and bias rounded to half when options.half_scales.
GroupParams fit_params(const WeightFormat& format, const float* w, int64_t count,
                       const QuantOptions& options);

// Quantizes one row of k values in groups of `group`: fit + encode per group.
void quantize_row(const WeightFormat& format, const float* w, int64_t k, int group,
                  const QuantOptions& options, uint8_t* codes, float* scales, float* biases);

// "  q4_affine   4 bits  <help>\n" for every row, for --help texts.
std::string weight_formats_help();

}  // namespace qp::quant
