// Public face of the fp32 kernel layer. Every op has a scalar reference in
// src/kernels/ref_*.cpp; ISA variants live in src/kernels/avx2/ and
// src/kernels/avx512/, compiled with their own flags and chosen once through a
// dispatch table (see dispatch.h) capped by QUANTPIPE_CPU_ISA.
//
// Activations are packed: the sequences of a batch are concatenated row-wise
// (T = total tokens, no padding); seq_offsets has S+1 entries, sequence s owns
// rows [seq_offsets[s], seq_offsets[s+1]).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/thread_pool.h"

namespace qp::kernels {

enum class Epilogue { None, Gelu };

// Anything that computes y = epilogue(x·Wᵀ + b) for a Linear layer: fp32
// weights (LinearF32), quantized weights (QuantLinear), or several layers of
// the same input side by side (StackedLinear). Models hold these.
class LinearLayer {
 public:
  virtual ~LinearLayer() = default;
  virtual int n() const = 0;
  virtual int k() const = 0;
  // x: m rows of k (row stride k); y: m rows of n (row stride n).
  virtual void forward(const float* x, int m, float* y, ThreadPool& pool,
                       Epilogue epilogue = Epilogue::None) const = 0;
  // Short description of the weight format, e.g. "f32" or "q4 g64".
  virtual std::string format() const = 0;
};

// A Linear layer's weight in Hugging Face layout W[n][k] (y = x·Wᵀ + b),
// repacked once into the layout of the ISA that is active when it is built.
class LinearF32 final : public LinearLayer {
 public:
  // bias may be null. Copies what it needs; w and bias may be freed afterwards.
  LinearF32(const float* w, int n, int k, const float* bias);
  LinearF32(LinearF32&&) noexcept;
  LinearF32& operator=(LinearF32&&) noexcept;
  ~LinearF32();

  int n() const override;
  int k() const override;
  Isa isa() const;
  std::string format() const override { return "f32"; }

  // y[m][n] = epilogue(x[m][k]·W[n]ᵀ + b[n]). x has row stride k, y row stride n.
  void forward(const float* x, int m, float* y, ThreadPool& pool,
               Epilogue epilogue = Epilogue::None) const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// out[r] = LayerNorm(x[r] + residual[r]) * gamma + beta, row by row (cols
// wide). residual may be null; out may alias x.
void add_layer_norm(const float* x, const float* residual, float* out, int64_t rows, int cols,
                    const float* gamma, const float* beta, float eps, ThreadPool& pool);

// Exact GELU: 0.5·x·(1 + erf(x/√2)), in place.
void gelu(float* x, int64_t n, ThreadPool& pool);

// Multi-head self-attention over packed sequences, no mask needed (no padding).
// q, k, v: rows of length `ld_in` (q[t*ld_in + h*head_dim + d]); out: rows of
// length `ld_out`. scores = q·kᵀ·scale, softmax over keys, out = p·v.
// add_bias(sequence, head, first_query, query_count, scores), when given, adds
// to the scaled scores of queries [first_query, first_query + query_count) of
// one (sequence, head) against all len keys before the softmax: scores is
// [query_count × len], row r for query first_query + r. Attention calls it
// for blocks of at most 64 queries, in order, so no len × len matrix is held;
// calls for different (sequence, head) pairs run concurrently. Relative
// position biases, DeBERTa's disentangled terms, a causal mask.
using ScoreBias =
    std::function<void(int64_t sequence, int head, int first_query, int query_count, float* scores)>;
void attention(const float* q, const float* k, const float* v, int ld_in, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias = {});
// As above, with the queries in one buffer (row stride ld_q) and the keys and
// values in another (row stride ld_kv) over the same sequence boundaries:
// cross-attention, queries from a decoder and keys / values from its encoder.
void attention(const float* q, int ld_q, const float* k, const float* v, int ld_kv, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias = {});

// Local (sliding-window) self-attention: query i attends only to keys j of its
// sequence with |i − j| ≤ half_window, and only those scores are computed, so
// the cost is O(len · (64 + 2·half_window)) per head rather than O(len²)
// (ModernBERT's local layers, half_window = local_attention / 2).
void local_attention(const float* q, const float* k, const float* v, int ld_in, float* out, int ld_out,
                     std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale,
                     int half_window, ThreadPool& pool);

// The ISA whose kernels the calls above use right now.
Isa kernel_isa();

}  // namespace qp::kernels
