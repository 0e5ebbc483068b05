// Loads Linear layers and embedding tables from a model directory in either
// form: plain Hugging Face (fp32 / f16 / bf16 "<path>.weight") or quantpipe's
// native quantized format (MLX layout: "<path>.weight" U32 codes +
// "<path>.scales" + "<path>.biases"). Quantized weights stay quantized.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/uninitialized.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"

namespace qp {

using LinearPtr = std::unique_ptr<kernels::LinearLayer>;

// <prefix>.weight [out × in] (+ <prefix>.bias [out] when `bias`).
LinearPtr load_linear(const WeightStore& weights, const std::string& prefix, int out, int in,
                      bool bias = true);

// Several Linear layers of the same input as one [Σout × in] layer: fused into
// one weight when all share a format, else side by side (StackedLinear).
LinearPtr load_stacked_linear(const WeightStore& weights, const std::vector<std::string>& prefixes,
                              int out_each, int in);

// Whether "<prefix>.weight" is stored quantized (MLX layout, with "<prefix>.scales").
bool is_quantized_weight(const WeightStore& weights, const std::string& prefix);

// A quantized weight's codes (one per byte, [out × in]), scales, biases and
// group as the file holds them, checked against [out × in] (exporters carry
// them elsewhere without dequantizing).
struct StoredCodes {
  std::vector<uint8_t> codes;
  std::vector<float> scales, biases;  // [out × in/group]
  int bits = 0, group = 0;
};
StoredCodes load_stored_codes(const WeightStore& weights, const std::string& prefix, int64_t out, int64_t in);

// An embedding matrix [rows × width]; quantized tables dequantize one row at
// a time on lookup.
class EmbeddingTable {
 public:
  EmbeddingTable() = default;
  // Moves only: words_ may point into own_words_.
  EmbeddingTable(EmbeddingTable&&) = default;
  EmbeddingTable& operator=(EmbeddingTable&&) = default;
  EmbeddingTable(const EmbeddingTable&) = delete;
  EmbeddingTable& operator=(const EmbeddingTable&) = delete;
  // Loads "<name>" (e.g. "embeddings.word_embeddings.weight").
  static EmbeddingTable load(const WeightStore& weights, const std::string& name, int rows, int width);

  bool empty() const { return rows_ == 0; }
  int rows() const { return rows_; }
  // out[0..width) += row r (dequantized when quantized).
  void add_row(int r, float* out) const;

 private:
  int rows_ = 0, width_ = 0, group_ = 0, bits_ = 0;
  std::vector<float> values_;  // fp32 table, when not quantized
  // Quantized: the file's packed words [rows × words_per_row_] (MLX's
  // layout), read in place from the mapped file, which mapping_ keeps
  // open, or from own_words_ when they cannot be (unaligned, not mapped).
  const uint32_t* words_ = nullptr;
  int64_t words_per_row_ = 0;
  std::shared_ptr<const void> mapping_;
  std::vector<uint32_t> own_words_;
  std::vector<float> scales_, biases_;
};

}  // namespace qp
