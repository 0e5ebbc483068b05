// Scalar reference quantizer: one float weight matrix [N, K] (Hugging Face
// layout, y = x·Wᵀ) → MLX affine storage. The converter uses only this path, so
// the bytes written are the same on every machine.
//
// Per-channel and per-tensor schemes are fitted over the whole row or tensor and
// then stored exactly like per-group ones (group = storage_group(), the one scale
// and bias repeated in every group of the row), so MLX reads them as plain affine
// tensors; the scheme name goes into the file metadata.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quant/format_table.h"
#include "quant/scheme.h"

namespace qp::quant {

struct QuantizedTensor {
  QuantScheme scheme;
  int64_t n = 0;
  int64_t k = 0;
  int bits = 0;                  // stored bits per code
  int group = 0;                 // storage group: scales are [n, k/group]
  std::vector<uint32_t> packed;  // [n, k·bits/32], MLX layout (pack.h)
  std::vector<float> scales;     // [n, k/group]
  std::vector<float> biases;     // [n, k/group]

  int64_t words_per_row() const { return k * bits / 32; }
  int64_t groups_per_row() const { return k / group; }
  std::vector<float> dequantize() const;  // [n, k]
};

// Unpacked result, for tests and for callers that pack elsewhere.
struct QuantizedCodes {
  std::vector<uint8_t> codes;  // [n, k], one code per byte
  std::vector<float> scales;
  std::vector<float> biases;
  int group = 0;
};

// Throws qp::Error naming `name` for NaN/Inf weights, a wrong element count or
// a scheme that does not fit K.
QuantizedCodes quantize_codes_ref(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                                  const QuantScheme& scheme, const QuantOptions& options = {});

// Packs unpacked codes (any method's) into the stored form of `scheme`.
QuantizedTensor pack_quantized(QuantizedCodes codes, int64_t n, int64_t k, const QuantScheme& scheme);

// quantize_codes_ref + pack_quantized.
QuantizedTensor quantize_ref(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                             const QuantScheme& scheme, const QuantOptions& options = {});

}  // namespace qp::quant
