// Scalar reference of ggml's block formats (see ggml_blocks.h). Each type is
// three small pieces: choose d (and m) and the codes from floats, pack codes
// into the block bytes, and unpack. Carrying quantpipe's codes over reuses the
// packers, so a carried block and a quantized one are laid out by the same code.
#include "quant/ggml_blocks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/half.h"
#include "quant/ggml_common.h"
#include "quant/ggml_kquants.h"

namespace qp::quant {
namespace {

constexpr int kQ = 32;    // values per block of the legacy types
constexpr int kQK = 256;  // values per super-block (K-quants, TQ)

using ggml::get_half;
using ggml::put_half;
using ggml::signed_absmax;

// ---- packers: codes (already offset to unsigned where the type stores them so) ----

void pack_q8_0(const int* q, float d, float, uint8_t* out) {
  put_half(out, d);
  for (int j = 0; j < kQ; ++j) out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q[j]));
}

// Low nibbles: value j in byte j, value j + 16 in the byte's high half.
void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < kQ / 2; ++j)
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kQ / 2] & 0x0F) << 4));
}

// Fifth bits: bit j of a little-endian uint32 is value j's bit 4.
void pack_high_bits(const int* q, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kQ; ++j) bits |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

void pack_q4_0(const int* q, float d, float, uint8_t* out) {
  put_half(out, d);
  pack_nibbles(q, out + 2);
}

void pack_q4_1(const int* q, float d, float m, uint8_t* out) {
  put_half(out, d);
  put_half(out + 2, m);
  pack_nibbles(q, out + 4);
}

void pack_q5_0(const int* q, float d, float, uint8_t* out) {
  put_half(out, d);
  pack_high_bits(q, out + 2);
  pack_nibbles(q, out + 6);
}

void pack_q5_1(const int* q, float d, float m, uint8_t* out) {
  put_half(out, d);
  put_half(out + 2, m);
  pack_high_bits(q, out + 4);
  pack_nibbles(q, out + 8);
}

// TQ2_0: 64 bytes then d; byte j + m of each 32-byte chunk holds, in bit pairs
// 0..3, values j·4 + n·32 + m (n = pair) of the chunk's 128 values.
void pack_tq2_0(const int* q, float d, float, uint8_t* out) {
  for (int chunk = 0; chunk < 2; ++chunk) {
    const int* x = q + chunk * 128;
    for (int m = 0; m < 32; ++m) {
      int byte = 0;
      for (int n = 0; n < 4; ++n) byte |= (x[m + n * 32] & 3) << (2 * n);
      out[chunk * 32 + m] = static_cast<uint8_t>(byte);
    }
  }
  put_half(out + 64, d);
}

// Five trits in a byte, first value most significant, stored as
// ceil(v·256/243) so that the trit n comes back as (byte·3^n·3) >> 8.
uint8_t pack_trits(const int* x, int stride, int count) {
  int v = 0;
  for (int n = 0; n < count; ++n) v = v * 3 + x[n * stride];
  for (int n = count; n < 5; ++n) v *= 3;  // shift to the most significant trits
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}

// TQ1_0: qs[48] then qh[4] then d. qs[0..32) hold values m + n·32 (n < 5) of the
// first 160, qs[32..48) values 160 + m + n·16 of the next 80, qh[j] values
// 240 + j + n·4 (n < 4) of the last 16.
void pack_tq1_0(const int* q, float d, float, uint8_t* out) {
  for (int m = 0; m < 32; ++m) out[m] = pack_trits(q + m, 32, 5);
  for (int m = 0; m < 16; ++m) out[32 + m] = pack_trits(q + 160 + m, 16, 5);
  for (int j = 0; j < 4; ++j) out[48 + j] = pack_trits(q + 240 + j, 4, 4);
  put_half(out + 52, d);
}

// ---- unpackers: block → values ----

void unpack_nibbles(const uint8_t* qs, int* q) {
  for (int j = 0; j < kQ / 2; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + kQ / 2] = qs[j] >> 4;
  }
}

void add_high_bits(const uint8_t* qh, int* q) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  for (int j = 0; j < kQ; ++j) q[j] |= static_cast<int>((bits >> j) & 1) << 4;
}

using DequantizeBlockFn = void (*)(const uint8_t* block, float* out);

void dequantize_q8_0(const uint8_t* b, float* out) {
  const float d = get_half(b);
  for (int j = 0; j < kQ; ++j) out[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

void dequantize_q4_0(const uint8_t* b, float* out) {
  int q[kQ];
  unpack_nibbles(b + 2, q);
  const float d = get_half(b);
  for (int j = 0; j < kQ; ++j) out[j] = static_cast<float>(q[j] - 8) * d;
}

void dequantize_q4_1(const uint8_t* b, float* out) {
  int q[kQ];
  unpack_nibbles(b + 4, q);
  const float d = get_half(b), m = get_half(b + 2);
  for (int j = 0; j < kQ; ++j) out[j] = static_cast<float>(q[j]) * d + m;
}

void dequantize_q5_0(const uint8_t* b, float* out) {
  int q[kQ];
  unpack_nibbles(b + 6, q);
  add_high_bits(b + 2, q);
  const float d = get_half(b);
  for (int j = 0; j < kQ; ++j) out[j] = static_cast<float>(q[j] - 16) * d;
}

void dequantize_q5_1(const uint8_t* b, float* out) {
  int q[kQ];
  unpack_nibbles(b + 8, q);
  add_high_bits(b + 4, q);
  const float d = get_half(b), m = get_half(b + 2);
  for (int j = 0; j < kQ; ++j) out[j] = static_cast<float>(q[j]) * d + m;
}

void dequantize_tq2_0(const uint8_t* b, float* out) {
  const float d = get_half(b + 64);
  for (int chunk = 0; chunk < 2; ++chunk)
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 32; ++m) {
        const int q = (b[chunk * 32 + m] >> (2 * n)) & 3;
        out[chunk * 128 + n * 32 + m] = static_cast<float>(q - 1) * d;
      }
}

int trit(uint8_t byte, int n) {
  static constexpr std::array<int, 5> kPow3 = {1, 3, 9, 27, 81};
  const int shifted = (byte * kPow3[static_cast<size_t>(n)]) & 0xFF;
  return (shifted * 3) >> 8;
}

void dequantize_tq1_0(const uint8_t* b, float* out) {
  const float d = get_half(b + 52);
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m) out[n * 32 + m] = static_cast<float>(trit(b[m], n) - 1) * d;
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m) out[160 + n * 16 + m] = static_cast<float>(trit(b[32 + m], n) - 1) * d;
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) out[240 + n * 4 + j] = static_cast<float>(trit(b[48 + j], n) - 1) * d;
}

// ---- quantizers: floats → d, m, codes (ggml's reference choices) ----

using PackFn = void (*)(const int* q, float d, float m, uint8_t* out);

void quantize_q8_0_block(const float* x, uint8_t* out) {
  float amax = 0.0f;
  for (int j = 0; j < kQ; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[kQ];
  for (int j = 0; j < kQ; ++j) q[j] = static_cast<int>(std::round(x[j] * id));
  pack_q8_0(q, d, 0.0f, out);
}

// Q4_0 / Q5_0: d = max/−half, q = min(top, trunc(x/d + half + 0.5)).
template <int Half, PackFn Pack>
void quantize_sym_block(const float* x, uint8_t* out) {
  const float d = signed_absmax(x, kQ) / static_cast<float>(-Half);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[kQ];
  for (int j = 0; j < kQ; ++j)
    q[j] = std::min(2 * Half - 1,
                    static_cast<int>(static_cast<int8_t>(x[j] * id + (static_cast<float>(Half) + 0.5f))));
  Pack(q, d, 0.0f, out);
}

// Q4_1 / Q5_1: d = (max − min)/top, m = min, q = min(top, trunc((x − min)/d + 0.5)).
template <int Top, PackFn Pack>
void quantize_affine_block(const float* x, uint8_t* out) {
  float min = x[0], max = x[0];
  for (int j = 1; j < kQ; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / static_cast<float>(Top);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[kQ];
  for (int j = 0; j < kQ; ++j)
    q[j] = std::min(Top, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
  Pack(q, d, min, out);
}

// TQ1_0 / TQ2_0: d = absmax, q = lround(x/d) + 1.
template <PackFn Pack>
void quantize_ternary_block(const float* x, uint8_t* out) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = static_cast<int>(std::lround(x[j] * id)) + 1;
  Pack(q, amax, 0.0f, out);
}

// ---- whole rows ----

template <void (*Block)(const float*, uint8_t*), int N, int Bytes>
void quantize_row(const float* x, int64_t k, uint8_t* out) {
  for (int64_t b = 0; b < k / N; ++b) Block(x + b * N, out + b * Bytes);
}

template <DequantizeBlockFn Block, int N, int Bytes>
void dequantize_row(const uint8_t* in, int64_t k, float* out) {
  for (int64_t b = 0; b < k / N; ++b) Block(in + b * Bytes, out + b * N);
}

void quantize_f32(const float* x, int64_t k, uint8_t* out) {
  std::memcpy(out, x, static_cast<size_t>(k) * 4);
}
void dequantize_f32(const uint8_t* in, int64_t k, float* out) {
  std::memcpy(out, in, static_cast<size_t>(k) * 4);
}

void quantize_f16(const float* x, int64_t k, uint8_t* out) {
  for (int64_t i = 0; i < k; ++i) put_half(out + 2 * i, x[i]);
}
void dequantize_f16(const uint8_t* in, int64_t k, float* out) {
  for (int64_t i = 0; i < k; ++i) out[i] = get_half(in + 2 * i);
}

void quantize_bf16(const float* x, int64_t k, uint8_t* out) {
  for (int64_t i = 0; i < k; ++i) {
    const uint16_t h = f32_to_bf16_ggml(x[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
}
void dequantize_bf16(const uint8_t* in, int64_t k, float* out) {
  for (int64_t i = 0; i < k; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, 2);
    out[i] = bf16_to_f32(h);
  }
}

using G = GgmlType;
using C = GgmlCodes;

constexpr GgmlTypeInfo kTypes[] = {
    {G::F32, "F32", 1, 4, C::Float, 0, 0, quantize_f32, dequantize_f32},
    {G::F16, "F16", 1, 2, C::Float, 0, 0, quantize_f16, dequantize_f16},
    {G::BF16, "BF16", 1, 2, C::Float, 0, 0, quantize_bf16, dequantize_bf16},
    {G::Q8_0, "Q8_0", 32, 34, C::Symmetric, -128, 127, quantize_row<quantize_q8_0_block, 32, 34>,
     dequantize_row<dequantize_q8_0, 32, 34>},
    {G::Q4_0, "Q4_0", 32, 18, C::Symmetric, -8, 7, quantize_row<quantize_sym_block<8, pack_q4_0>, 32, 18>,
     dequantize_row<dequantize_q4_0, 32, 18>},
    {G::Q4_1, "Q4_1", 32, 20, C::Affine, 0, 15, quantize_row<quantize_affine_block<15, pack_q4_1>, 32, 20>,
     dequantize_row<dequantize_q4_1, 32, 20>},
    {G::Q5_0, "Q5_0", 32, 22, C::Symmetric, -16, 15, quantize_row<quantize_sym_block<16, pack_q5_0>, 32, 22>,
     dequantize_row<dequantize_q5_0, 32, 22>},
    {G::Q5_1, "Q5_1", 32, 24, C::Affine, 0, 31, quantize_row<quantize_affine_block<31, pack_q5_1>, 32, 24>,
     dequantize_row<dequantize_q5_1, 32, 24>},
    {G::TQ1_0, "TQ1_0", 256, 54, C::Symmetric, -1, 1,
     quantize_row<quantize_ternary_block<pack_tq1_0>, 256, 54>, dequantize_row<dequantize_tq1_0, 256, 54>},
    {G::TQ2_0, "TQ2_0", 256, 66, C::Symmetric, -1, 1,
     quantize_row<quantize_ternary_block<pack_tq2_0>, 256, 66>, dequantize_row<dequantize_tq2_0, 256, 66>},
    {G::Q8_1, "Q8_1", 32, 36, C::Other, 0, 0, nullptr, nullptr},
    {G::Q2_K, "Q2_K", 256, 84, C::Other, 0, 0, quantize_row_q2_k, dequantize_row_q2_k},
    {G::Q3_K, "Q3_K", 256, 110, C::Other, 0, 0, quantize_row_q3_k, dequantize_row_q3_k},
    {G::Q4_K, "Q4_K", 256, 144, C::Other, 0, 0, quantize_row_q4_k, dequantize_row_q4_k},
    {G::Q5_K, "Q5_K", 256, 176, C::Other, 0, 0, quantize_row_q5_k, dequantize_row_q5_k},
    {G::Q6_K, "Q6_K", 256, 210, C::Other, 0, 0, quantize_row_q6_k, dequantize_row_q6_k},
    {G::Q8_K, "Q8_K", 256, 292, C::Other, 0, 0, nullptr, nullptr},
    {G::I8, "I8", 1, 1, C::Other, 0, 0, nullptr, nullptr},
    {G::I16, "I16", 1, 2, C::Other, 0, 0, nullptr, nullptr},
    {G::I32, "I32", 1, 4, C::Other, 0, 0, nullptr, nullptr},
    {G::I64, "I64", 1, 8, C::Other, 0, 0, nullptr, nullptr},
    {G::F64, "F64", 1, 8, C::Other, 0, 0, nullptr, nullptr},
};

PackFn packer(GgmlType type) {
  switch (type) {
    case G::Q8_0:
      return pack_q8_0;
    case G::Q4_0:
      return pack_q4_0;
    case G::Q4_1:
      return pack_q4_1;
    case G::Q5_0:
      return pack_q5_0;
    case G::Q5_1:
      return pack_q5_1;
    case G::TQ1_0:
      return pack_tq1_0;
    case G::TQ2_0:
      return pack_tq2_0;
    default:
      return nullptr;
  }
}

// The code a symmetric type stores for signed value 0 (Q8_0 stores q itself).
int zero_offset(const GgmlTypeInfo& info) { return info.type == G::Q8_0 ? 0 : -info.code_min; }

}  // namespace

std::span<const GgmlTypeInfo> ggml_types() { return kTypes; }

const GgmlTypeInfo* find_ggml_type(uint32_t id) {
  for (const auto& info : kTypes)
    if (static_cast<uint32_t>(info.type) == id) return &info;
  return nullptr;
}

const GgmlTypeInfo* find_ggml_type(std::string_view name) {
  for (const auto& info : kTypes) {
    if (info.name.size() != name.size()) continue;
    if (std::equal(name.begin(), name.end(), info.name.begin(),
                   [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }))
      return &info;
  }
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  const GgmlTypeInfo* info = find_ggml_type(static_cast<uint32_t>(type));
  if (info == nullptr) fail("[gguf] ggml type ", static_cast<uint32_t>(type), " is not known");
  return *info;
}

int64_t ggml_row_bytes(GgmlType type, int64_t k) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (k < 0 || k % info.block != 0)
    fail("[gguf] a row of ", k, " values cannot be stored as ", info.name, ": rows must be a multiple of ",
         info.block);
  if (k / info.block > std::numeric_limits<int64_t>::max() / info.bytes)
    fail("[gguf] a row of ", k, " ", info.name, " values overflows");
  return k / info.block * info.bytes;
}

std::vector<uint8_t> ggml_quantize(GgmlType type, std::span<const float> x, int64_t k) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (info.quantize == nullptr) fail("[gguf] quantpipe cannot write ", info.name, " tensors");
  const int64_t row_bytes = ggml_row_bytes(type, k);
  if (k <= 0 || static_cast<int64_t>(x.size()) % k != 0)
    fail("[gguf] ", x.size(), " values are not whole rows of ", k);
  const int64_t rows = static_cast<int64_t>(x.size()) / k;
  std::vector<uint8_t> out(static_cast<size_t>(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r) info.quantize(x.data() + r * k, k, out.data() + r * row_bytes);
  return out;
}

std::vector<float> ggml_dequantize(GgmlType type, std::span<const uint8_t> bytes, int64_t count) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (info.dequantize == nullptr) fail("[gguf] quantpipe cannot read ", info.name, " tensors");
  // Compared by division: count comes from a file and count * bytes may overflow.
  if (count < 0 || count % info.block != 0 || bytes.size() % static_cast<size_t>(info.bytes) != 0 ||
      bytes.size() / static_cast<size_t>(info.bytes) != static_cast<size_t>(count / info.block))
    fail("[gguf] ", bytes.size(), " bytes do not hold ", count, " ", info.name, " values");
  std::vector<float> out(static_cast<size_t>(count));
  info.dequantize(bytes.data(), count, out.data());
  return out;
}

std::optional<std::vector<uint8_t>> ggml_carry_codes(GgmlType type, const CodeRow& row) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  const PackFn pack = packer(type);
  if (pack == nullptr || row.k % info.block != 0 || row.group <= 0) return std::nullopt;
  std::vector<uint8_t> out(static_cast<size_t>(row.k / info.block * info.bytes));
  std::vector<int> q(static_cast<size_t>(info.block));
  for (int64_t b = 0; b < row.k / info.block; ++b) {
    const int64_t first = b * info.block;
    const int64_t g0 = first / row.group, g1 = (first + info.block - 1) / row.group;
    const float scale = row.scales[g0], bias = row.biases[g0];
    for (int64_t g = g0 + 1; g <= g1; ++g)
      if (row.scales[g] != scale || row.biases[g] != bias) return std::nullopt;
    int zero = 0;  // the code that means 0.0 (symmetric types)
    if (info.codes == C::Symmetric) {
      if (scale == 0.0f) {
        if (bias != 0.0f) return std::nullopt;
      } else {
        const float z = -bias / scale;
        zero = static_cast<int>(std::lround(z));
        if (scale * static_cast<float>(zero) != -bias) return std::nullopt;
      }
    }
    const int offset = info.codes == C::Symmetric ? zero_offset(info) : 0;
    for (int j = 0; j < info.block; ++j) {
      const int value = static_cast<int>(row.codes[first + j]) - zero;
      if (value < info.code_min || value > info.code_max) return std::nullopt;
      q[static_cast<size_t>(j)] = value + offset;
    }
    pack(q.data(), scale, info.codes == C::Affine ? bias : 0.0f, out.data() + b * info.bytes);
  }
  return out;
}

std::optional<BlockCodes> ggml_block_codes(GgmlType type, std::span<const uint8_t> bytes, int64_t n,
                                           int64_t k) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (info.codes != C::Symmetric && info.codes != C::Affine) return std::nullopt;
  if (k % info.block != 0 || static_cast<int64_t>(bytes.size()) != n * (k / info.block) * info.bytes)
    fail("[gguf] ", bytes.size(), " bytes do not hold ", n, " rows of ", k, " ", info.name, " values");
  BlockCodes out;
  const bool ternary = info.code_max == 1;
  struct Row {
    GgmlType type;
    int bits;
    std::string_view scheme;
  };
  static constexpr Row kRows[] = {
      {G::Q8_0, 8, "q8_sym"},    {G::Q4_0, 4, "q4_sym"},   {G::Q5_0, 5, "q5_sym"},  {G::Q4_1, 4, "q4_affine"},
      {G::Q5_1, 5, "q5_affine"}, {G::TQ1_0, 2, "ternary"}, {G::TQ2_0, 2, "ternary"}};
  for (const Row& row : kRows)
    if (row.type == type) out.bits = row.bits, out.scheme = row.scheme;
  out.group = ternary ? 128 : info.block;
  out.codes.resize(static_cast<size_t>(n * k));
  out.scales.resize(static_cast<size_t>(n * (k / out.group)));
  out.biases.resize(out.scales.size());
  // Codes: dequantize a block with d = 1 and m = 0 semantics by reading the packers' inverse.
  std::vector<float> unit(static_cast<size_t>(info.block));
  std::vector<uint8_t> block(static_cast<size_t>(info.bytes));
  const int zero = info.codes == C::Symmetric ? zero_offset(info) : 0;
  const int code_shift = type == G::Q8_0 ? 128 : 0;  // Q8_0's signed q becomes q + 128
  for (int64_t b = 0; b < n * (k / info.block); ++b) {
    const uint8_t* in = bytes.data() + b * info.bytes;
    // Read d (and m) where the type keeps them, then decode codes with d = 1, m = 0.
    std::copy(in, in + info.bytes, block.begin());
    const size_t d_at = (type == G::TQ2_0) ? 64 : (type == G::TQ1_0) ? 52 : 0;
    const float d = get_half(in + d_at);
    const float m = info.codes == C::Affine ? get_half(in + 2) : 0.0f;
    put_half(block.data() + d_at, 1.0f);
    if (info.codes == C::Affine) put_half(block.data() + 2, 0.0f);
    info.dequantize(block.data(), info.block, unit.data());
    const int64_t first = b * info.block;  // value index over all rows (blocks never span rows)
    for (int j = 0; j < info.block; ++j)
      out.codes[static_cast<size_t>(first + j)] =
          static_cast<uint8_t>(static_cast<int>(unit[static_cast<size_t>(j)]) + zero + code_shift);
    const float bias = info.codes == C::Affine ? m : -d * static_cast<float>(zero + code_shift);
    for (int g = 0; g < info.block / out.group; ++g) {
      out.scales[static_cast<size_t>(first / out.group + g)] = d;
      out.biases[static_cast<size_t>(first / out.group + g)] = bias;
    }
  }
  return out;
}

uint16_t f32_to_bf16_ggml(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 64);  // quiet NaN
  return static_cast<uint16_t>((bits + (0x7FFFu + ((bits >> 16) & 1u))) >> 16);
}

}  // namespace qp::quant
