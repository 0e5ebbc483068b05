// Bit-stream packing in MLX's layout (see pack.h).
#include "quant/pack.h"

#include "core/error.h"

namespace qp::quant {
namespace {

void check_bits(int bits) {
  if (bits < 1 || bits > 8) fail("[quant] cannot pack ", bits, "-bit codes (1 to 8 bits)");
}

}  // namespace

std::vector<uint32_t> pack_codes(std::span<const uint8_t> codes, int bits) {
  check_bits(bits);
  const uint64_t total_bits = codes.size() * static_cast<uint64_t>(bits);
  if (total_bits % 32 != 0)
    fail("[quant] ", codes.size(), " codes of ", bits, " bits do not fill whole uint32 words");
  std::vector<uint32_t> words(total_bits / 32);
  const uint32_t mask = (1u << bits) - 1;
  // A 64-bit accumulator: codes enter at the top of the filled part, and every
  // full 32 bits leave from the bottom, which is exactly the LSB-first stream.
  uint64_t acc = 0;
  int filled = 0;
  size_t out = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] > mask) fail("[quant] code ", int(codes[i]), " at ", i, " does not fit in ", bits, " bits");
    acc |= static_cast<uint64_t>(codes[i]) << filled;
    filled += bits;
    if (filled >= 32) {
      words[out++] = static_cast<uint32_t>(acc);
      acc >>= 32;
      filled -= 32;
    }
  }
  return words;
}

void unpack_codes_into(const uint32_t* words, int bits, int64_t count, uint8_t* out) {
  check_bits(bits);
  const uint32_t mask = (1u << bits) - 1;
  int64_t start = 0;
  // 8, 4, 2 bits: whole codes in every word, with the field count known at
  // compile time so the loop vectorizes (the bit stream below is ≈ 10×
  // slower; loading a q8 MiniLM spent most of its time there).
  const auto whole_words = [&]<int kBits>() {
    constexpr int kPerWord = 32 / kBits;
    const int64_t n = count / kPerWord;
    const uint32_t* __restrict src = words;
    uint8_t* __restrict dst = out;
    for (int64_t w = 0; w < n; ++w)
      for (int j = 0; j < kPerWord; ++j)
        dst[w * kPerWord + j] = static_cast<uint8_t>((src[w] >> (j * kBits)) & ((1u << kBits) - 1));
    start = n * kPerWord;
    words += n;
  };
  if (bits == 8) whole_words.operator()<8>();
  if (bits == 4) whole_words.operator()<4>();
  if (bits == 2) whole_words.operator()<2>();
  uint64_t acc = 0;
  int filled = 0;
  const uint32_t* next = words;
  for (int64_t i = start; i < count; ++i) {
    if (filled < bits) {
      acc |= static_cast<uint64_t>(*next++) << filled;
      filled += 32;
    }
    out[i] = static_cast<uint8_t>(acc & mask);
    acc >>= bits;
    filled -= bits;
  }
}

std::vector<uint8_t> unpack_codes(std::span<const uint32_t> words, int bits, int64_t count) {
  check_bits(bits);
  if (count < 0 || static_cast<uint64_t>(count) * bits > words.size() * 32ull)
    fail("[quant] ", count, " codes of ", bits, " bits need more than the ", words.size(), " words given");
  std::vector<uint8_t> codes(count);
  unpack_codes_into(words.data(), bits, count, codes.data());
  return codes;
}

std::vector<float> dequantize_ref(std::span<const uint32_t> packed, std::span<const float> scales,
                                  std::span<const float> biases, int64_t n, int64_t k, int group, int bits) {
  if (n < 0 || k <= 0 || group <= 0 || k % group != 0)
    fail("[quant] dequantize: bad shape n=", n, " k=", k, " group=", group);
  const int64_t groups = k / group;
  if (static_cast<int64_t>(scales.size()) != n * groups || static_cast<int64_t>(biases.size()) != n * groups)
    fail("[quant] dequantize: expected ", n * groups, " scales and biases, got ", scales.size(), " and ",
         biases.size());
  if (static_cast<uint64_t>(packed.size()) * 32 != static_cast<uint64_t>(n * k * bits))
    fail("[quant] dequantize: expected ", n * k * bits / 32, " words, got ", packed.size());
  const std::vector<uint8_t> codes = unpack_codes(packed, bits, n * k);
  std::vector<float> out(n * k);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      const int64_t g = r * groups + c / group;
      out[r * k + c] = scales[g] * static_cast<float>(codes[r * k + c]) + biases[g];
    }
  }
  return out;
}

}  // namespace qp::quant
