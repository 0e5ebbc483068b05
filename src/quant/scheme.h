// Quantization schemes: how one weight tensor is turned into integer codes.
//
// Every scheme is stored in MLX's affine form (see DESIGN.md, Formats): unsigned
// codes q in [0, 2^bits − 1] packed LSB-first, and per (row, storage group) a
// scale and a bias with w ≈ scale·q + bias. Symmetric and ternary schemes only
// choose scale and bias differently, so MLX reads every one of them.
//
// Names: "q<bits>_<sym|affine>_<granularity>" and "ternary_<granularity>", where
// granularity is "tensor", "ch" (per output channel = row) or "g<32|64|128>":
// "q8_sym_ch", "q4_affine_g64", "ternary_g64".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qp::quant {

enum class QuantKind : uint8_t { Symmetric, Affine, Ternary };
enum class Granularity : uint8_t { PerTensor, PerChannel, PerGroup };

struct QuantScheme {
  int bits = 4;  // 2, 3, 4, 5, 6 or 8; ternary is stored with 2
  QuantKind kind = QuantKind::Affine;
  Granularity granularity = Granularity::PerGroup;
  int group_size = 64;  // 32, 64 or 128 for PerGroup; ignored otherwise

  bool operator==(const QuantScheme&) const = default;
};

// Parses a scheme name; throws qp::Error "[quant] scheme '<text>': <why>".
QuantScheme parse_scheme(std::string_view text);
// The canonical name; parse_scheme(format_scheme(s)) == s for valid s.
std::string format_scheme(const QuantScheme& scheme);
// Throws qp::Error naming the scheme and the rule it breaks.
void validate_scheme(const QuantScheme& scheme);

// Whether rows of K weights can be stored with this scheme: per-group needs K
// divisible by the group; per-tensor and per-channel need K divisible by 32 so
// the row packs into whole uint32 words and splits into MLX-sized storage groups.
bool scheme_fits(const QuantScheme& scheme, int64_t k);

// The group the scales/biases are stored for. Per-group: group_size. Per-channel
// and per-tensor: the largest of 128/64/32 dividing K, with the one row (or
// tensor) scale repeated in every group, so MLX loads the file as plain affine.
int storage_group(const QuantScheme& scheme, int64_t k);

}  // namespace qp::quant
