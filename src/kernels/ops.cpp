// Thread-level drivers for the non-GEMM ops: they split rows, elements or
// (sequence, head) pairs over the pool and call the active ISA's row.
#include <algorithm>
#include <functional>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace qp::kernels {

void add_layer_norm(const float* x, const float* residual, float* out, int64_t rows, int cols,
                    const float* gamma, const float* beta, float eps, ThreadPool& pool) {
  const KernelTable& table = active_kernel_table();
  pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* res = residual ? residual + r * cols : nullptr;
      table.layer_norm_row(x + r * cols, res, out + r * cols, cols, gamma, beta, eps);
    }
  });
}

void gelu(float* x, int64_t n, ThreadPool& pool) {
  const KernelTable& table = active_kernel_table();
  // Below this, waking the workers costs more than the work.
  constexpr int64_t kSerialLimit = 16384;
  if (n <= kSerialLimit) {
    table.gelu(x, n);
    return;
  }
  constexpr int64_t kChunk = 1024;
  pool.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t begin, int64_t end) {
    const int64_t lo = begin * kChunk, hi = std::min(n, end * kChunk);
    table.gelu(x + lo, hi - lo);
  });
}

namespace {

// Per-thread scratch for one (sequence, head) pair, sized for the longest sequence.
struct AttentionScratch {
  AlignedFloats keys, values, scores;
  AttentionScratch(int max_len, int head_dim, int nr)
      : keys(alloc_floats(static_cast<int64_t>(panel_count(max_len, nr)) * nr * head_dim)),
        values(alloc_floats(static_cast<int64_t>(panel_count(head_dim, nr)) * nr * max_len)),
        scores(alloc_floats(static_cast<int64_t>(max_len) * max_len)) {}
};

// scores = q·kᵀ (keys packed as the "weight"), softmax per row with the scale,
// then out = p·v (v packed transposed), both through the GEMM micro-kernel.
// With a bias, the scores are scaled first, the bias added, and the softmax
// runs with scale 1.
void attend_one(const KernelTable& table, AttentionScratch& s, const float* q, int ld_q, const float* k,
                const float* v, int ld_kv, float* out, int ld_out, int len, int head_dim, float scale,
                const std::function<void(float*)>& add_bias) {
  const int nr = table.nr;
  pack_panels(k, ld_kv, len, head_dim, nr, s.keys.get());
  const PackedGemm qk{q, ld_q, s.keys.get(), nullptr, s.scores.get(), len, len, head_dim, Epilogue::None};
  gemm_block(table, qk, 0, len, 0, panel_count(len, nr), std::max(head_dim, 1));
  if (add_bias) {
    float* scores = s.scores.get();
    for (int64_t i = 0; i < static_cast<int64_t>(len) * len; ++i) scores[i] *= scale;
    add_bias(scores);
    scale = 1.0f;
  }
  for (int i = 0; i < len; ++i) table.softmax_row(s.scores.get() + static_cast<int64_t>(i) * len, len, scale);
  pack_panels_transposed(v, ld_kv, head_dim, len, nr, s.values.get());
  const PackedGemm pv{s.scores.get(), len, s.values.get(), nullptr, out, ld_out,
                      head_dim,       len, Epilogue::None};
  gemm_block(table, pv, 0, len, 0, panel_count(head_dim, nr), len);
}

}  // namespace

void attention(const float* q, const float* k, const float* v, int ld_in, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias) {
  attention(q, ld_in, k, v, ld_in, out, ld_out, seq_offsets, heads, head_dim, scale, pool, add_bias);
}

void attention(const float* q, int ld_q, const float* k, const float* v, int ld_kv, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias) {
  if (seq_offsets.size() < 2 || heads <= 0 || head_dim <= 0) return;
  const KernelTable& table = active_kernel_table();
  const int64_t sequences = static_cast<int64_t>(seq_offsets.size()) - 1;
  int max_len = 0;
  for (int64_t s = 0; s < sequences; ++s) max_len = std::max(max_len, seq_offsets[s + 1] - seq_offsets[s]);
  if (max_len == 0) return;
  pool.parallel_for(sequences * heads, [&](int64_t begin, int64_t end) {
    AttentionScratch scratch(max_len, head_dim, table.nr);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / heads;
      const int h = static_cast<int>(task % heads);
      const int64_t t0 = seq_offsets[s];
      const int len = seq_offsets[s + 1] - seq_offsets[s];
      if (len <= 0) continue;
      const int64_t column = static_cast<int64_t>(h) * head_dim;
      const int64_t in_q = t0 * ld_q + column, in_kv = t0 * ld_kv + column;
      std::function<void(float*)> bias;
      if (add_bias) bias = [&](float* scores) { add_bias(s, h, scores); };
      attend_one(table, scratch, q + in_q, ld_q, k + in_kv, v + in_kv, ld_kv, out + t0 * ld_out + column,
                 ld_out, len, head_dim, scale, bias);
    }
  });
}

}  // namespace qp::kernels
