// ggml's tensor types as data, and the scalar reference of each block format
// quantpipe writes or reads: what GGUF files (llama.cpp) store.
//
// Formulas read from ggml/src/ggml-quants.c (quantize_row_*_ref, dequantize_row_*)
// and checked against the PyPI `gguf` package's numpy implementation
// (tests/golden/gguf/make_ggml_blocks_golden.py); none of the code is theirs.
// Blocks of one row are contiguous; a row of K values is K/block blocks.
//
// | type  | block | bytes | value                          | d chosen as                  |
// |-------|-------|-------|--------------------------------|------------------------------|
// | Q8_0  | 32    | 34    | d·q, q int8                    | absmax/127, q = roundf(x/d)  |
// | Q4_0  | 32    | 18    | d·(q − 8), q in 0..15          | (signed absmax)/−8           |
// | Q4_1  | 32    | 20    | d·q + m                        | (max − min)/15, m = min      |
// | Q5_0  | 32    | 22    | d·(q − 16), q in 0..31         | (signed absmax)/−16          |
// | Q5_1  | 32    | 24    | d·q + m                        | (max − min)/31, m = min      |
// | TQ1_0 | 256   | 54    | d·(q − 1), base-3 packed       | absmax                       |
// | TQ2_0 | 256   | 66    | d·(q − 1), 2-bit packed        | absmax                       |
// d and m are stored as IEEE half.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace qp::quant {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
};

// How a block type holds codes, for carrying quantpipe's codes over unchanged.
enum class GgmlCodes : uint8_t {
  Float,      // F32 / F16 / BF16: no codes
  Symmetric,  // d·(q − zero): Q8_0 (zero 0, q signed), Q4_0, Q5_0, TQ1_0, TQ2_0
  Affine,     // d·q + m: Q4_1, Q5_1
  Other,      // K-quants: sub-block scales, never carried
};

using QuantizeRowFn = void (*)(const float* x, int64_t k, uint8_t* out);
using DequantizeRowFn = void (*)(const uint8_t* blocks, int64_t k, float* out);

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  // as ggml names it: "Q4_0"
  int block;              // values per block
  int bytes;              // bytes per block
  GgmlCodes codes;
  int code_min;  // signed code range a carried-over value may take (Symmetric: q − zero)
  int code_max;
  QuantizeRowFn quantize;      // nullptr: quantpipe cannot write it (yet)
  DequantizeRowFn dequantize;  // nullptr: quantpipe cannot read it (yet)
};

// Every type quantpipe knows by name; find() is nullptr for any other id.
std::span<const GgmlTypeInfo> ggml_types();
const GgmlTypeInfo* find_ggml_type(uint32_t id);
// By name, case-insensitive ("q4_0", "Q8_0", "f16"); nullptr when unknown.
const GgmlTypeInfo* find_ggml_type(std::string_view name);
const GgmlTypeInfo& ggml_type_info(GgmlType type);

// Bytes of a row of k values; throws qp::Error when k is not a multiple of the block.
int64_t ggml_row_bytes(GgmlType type, int64_t k);

// Quantizes rows (each of k values) with ggml's reference formula.
std::vector<uint8_t> ggml_quantize(GgmlType type, std::span<const float> x, int64_t k);
// The inverse, for any type with a dequantizer.
std::vector<float> ggml_dequantize(GgmlType type, std::span<const uint8_t> bytes, int64_t count);

// quantpipe's codes carried into ggml blocks unchanged: one row of k codes with
// its per-group scales and biases (w = scale·code + bias, group along k).
struct CodeRow {
  const uint8_t* codes;
  const float* scales;
  const float* biases;
  int64_t k;
  int group;
};

// The blocks holding exactly these codes (d and m rounded to half, as every
// ggml block stores them), or nullopt when `type` cannot hold them: a block
// spans groups with different scale or bias, a symmetric type meets a bias that
// is not −scale·integer, or a code falls outside the type's range.
std::optional<std::vector<uint8_t>> ggml_carry_codes(GgmlType type, const CodeRow& row);

// The other way: ggml blocks as quantpipe's codes, without dequantizing. Each
// block's d (and m) become the scale and bias of its storage group (the ggml
// block; TQ's 256 values as two groups of 128 with the same scale), so
// w = scale·code + bias gives exactly the block's values:
//   Q8_0 → 8-bit codes q + 128, bias −128·d;  Q4_0 → 4-bit q, bias −8·d;
//   Q5_0 → 5-bit q, bias −16·d;  Q4_1 / Q5_1 → q, bias m;  TQ → 2-bit q, bias −d.
struct BlockCodes {
  std::vector<uint8_t> codes;  // [n, k]
  std::vector<float> scales;   // [n, k/group]
  std::vector<float> biases;
  int bits = 0;
  int group = 0;
  std::string_view scheme;  // quantpipe's name for what the blocks hold: "q4_sym", "q4_affine", "ternary"
};
// nullopt for types that hold no such codes (floats, K-quants).
std::optional<BlockCodes> ggml_block_codes(GgmlType type, std::span<const uint8_t> bytes, int64_t n,
                                           int64_t k);

// BF16 as ggml rounds it (nearest even, NaN kept quiet).
uint16_t f32_to_bf16_ggml(float value);

}  // namespace qp::quant
