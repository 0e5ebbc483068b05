// MLX's bit packing of quantization codes, and the reference dequantizer.
//
// Layout (read from MLX mlx/backend/cpu/quantized.cpp, quantize / extract_bits):
// a row's codes form one little-endian bit stream, code i occupying stream bits
// [i·bits, (i+1)·bits). For 2/4/8 bits that is "element j of a uint32 in bits
// [j·b, (j+1)·b)"; for 3 and 5 bits MLX writes 8 codes into 3 and 5 bytes, for 6
// bits 4 codes into 3 bytes — the same stream cut into bytes. The stored uint32
// words are the little-endian view of that byte stream, shape [N, K·bits/32].
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qp::quant {

// Packs codes (each < 2^bits) into count·bits/32 words. count·bits must be a
// multiple of 32 (every row of a fitting scheme is). Throws qp::Error otherwise.
std::vector<uint32_t> pack_codes(std::span<const uint8_t> codes, int bits);

// The inverse: the first `count` codes of the stream.
std::vector<uint8_t> unpack_codes(std::span<const uint32_t> words, int bits, int64_t count);

// Unpacks into out[0, count) without allocating (used by kernels at load).
void unpack_codes_into(const uint32_t* words, int bits, int64_t count, uint8_t* out);

// w[n][k] = scales[n][k/group]·q[n][k] + biases[n][k/group], in float, in that
// order of operations (MLX's dequantize formula).
std::vector<float> dequantize_ref(std::span<const uint32_t> packed, std::span<const float> scales,
                                  std::span<const float> biases, int64_t n, int64_t k, int group, int bits);

}  // namespace qp::quant
