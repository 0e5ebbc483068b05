// Multi-head attention over packed sequences, one (sequence, head) pair per
// task. The queries go in blocks of kQueryBlock rows, each against just the
// keys it can see: all of them for global attention (packed once per pair), a
// band of ±half_window around the block for local attention (packed per
// block), so local layers cost O(len·w). A score bias (relative positions,
// DeBERTa's c2p / p2c, a causal mask) is added block by block too: the hook
// fills [block rows × len] and each row's softmax still runs over the whole
// row. No path holds a len × len matrix; the scratch is 64 × keys per thread.
#include <algorithm>
#include <functional>

#include "core/profiler.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace qp::kernels {
namespace {

constexpr int kQueryBlock = 64;

// Per-thread scratch for one (sequence, head) pair: packed keys and values for
// up to `max_keys` keys, and the scores of up to `max_queries` queries.
struct AttentionScratch {
  AlignedFloats keys, values, scores;
  AttentionScratch(int max_queries, int max_keys, int head_dim, int nr)
      : keys(alloc_floats(static_cast<int64_t>(panel_count(max_keys, nr)) * nr * head_dim)),
        values(alloc_floats(static_cast<int64_t>(panel_count(head_dim, nr)) * nr * max_keys)),
        scores(alloc_floats(static_cast<int64_t>(max_queries) * max_keys)) {}
};

// One (sequence, head): where its rows are and how they are laid out.
struct HeadView {
  const float* q;
  int64_t ld_q;
  const float* k;
  const float* v;
  int64_t ld_kv;
  float* out;
  int64_t ld_out;
  int len;
  int head_dim;
  float scale;
};

// Query i sees keys [i − half_window, i + half_window] ∩ [0, len); a
// half_window of len or more is global attention. Per block of queries:
// scores = q·kᵀ (keys packed as the "weight"), the softmax per row with the
// scale, then out = p·v (v packed transposed), both through the GEMM
// micro-kernel. With add_bias (global attention only) the block's scores are
// scaled first, the bias sees them as [rows × len] (row r: query i0 + r), and
// the softmax then runs with scale 1.
void attend_blocks(const KernelTable& table, AttentionScratch& s, const HeadView& h, int half_window,
                   const std::function<void(int first_query, int query_count, float* scores)>& add_bias) {
  using profile::Op;
  const int nr = table.nr, len = h.len, d = h.head_dim;
  int packed_from = -1, packed_to = -1;
  for (int i0 = 0; i0 < len; i0 += kQueryBlock) {
    const int i1 = std::min(len, i0 + kQueryBlock), rows = i1 - i0;
    const int k0 = std::max(0, i0 - half_window), k1 = std::min(len, i1 + half_window);
    const int keys = k1 - k0;
    if (k0 != packed_from || k1 != packed_to) {  // global attention packs once
      const profile::Scope scope(Op::AttentionPack);
      pack_panels(h.k + k0 * h.ld_kv, h.ld_kv, keys, d, nr, s.keys.get());
      pack_panels_transposed(h.v + k0 * h.ld_kv, h.ld_kv, d, keys, nr, s.values.get());
      packed_from = k0;
      packed_to = k1;
    }
    float* scores = s.scores.get();
    {
      const profile::Scope scope(Op::AttentionScores);
      const PackedGemm qk{h.q + i0 * h.ld_q, h.ld_q, s.keys.get(), nullptr, scores, keys, keys, d,
                          Epilogue::None};
      gemm_block(table, qk, 0, rows, 0, panel_count(keys, nr), std::max(d, 1));
      if (add_bias) {
        for (int64_t e = 0; e < static_cast<int64_t>(rows) * keys; ++e) scores[e] *= h.scale;
        add_bias(i0, rows, scores);
      }
    }
    {
      const profile::Scope scope(Op::Softmax);
      const float scale = add_bias ? 1.0f : h.scale;
      for (int r = 0; r < rows; ++r) {
        const int i = i0 + r;
        const int lo = std::max(0, i - half_window) - k0, hi = std::min(len, i + half_window + 1) - k0;
        float* row = scores + static_cast<int64_t>(r) * keys;
        std::fill(row, row + lo, 0.0f);
        table.softmax_row(row + lo, hi - lo, scale);
        std::fill(row + hi, row + keys, 0.0f);
      }
    }
    const profile::Scope scope(Op::AttentionValues);
    const PackedGemm pv{scores,   keys, s.values.get(), nullptr,       h.out + i0 * h.ld_out,
                        h.ld_out, d,    keys,           Epilogue::None};
    gemm_block(table, pv, 0, rows, 0, panel_count(d, nr), keys);
  }
}

void run_attention(const float* q, int ld_q, const float* k, const float* v, int ld_kv, float* out,
                   int ld_out, std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale,
                   int half_window, ThreadPool& pool, const ScoreBias& add_bias) {
  if (seq_offsets.size() < 2 || heads <= 0 || head_dim <= 0) return;
  const KernelTable& table = active_kernel_table();
  const int64_t sequences = static_cast<int64_t>(seq_offsets.size()) - 1;
  int max_len = 0;
  for (int64_t s = 0; s < sequences; ++s) max_len = std::max(max_len, seq_offsets[s + 1] - seq_offsets[s]);
  if (max_len == 0) return;
  // A bias sees every key: biased attention is global.
  const int window = half_window < 0 || add_bias ? max_len : std::min(half_window, max_len);
  const int max_queries = std::min(max_len, kQueryBlock);
  const int max_keys = std::min(max_len, kQueryBlock + 2 * window);
  pool.parallel_for(sequences * heads, [&](int64_t begin, int64_t end) {
    AttentionScratch scratch(max_queries, max_keys, head_dim, table.nr);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / heads;
      const int h = static_cast<int>(task % heads);
      const int64_t t0 = seq_offsets[s];
      const int len = seq_offsets[s + 1] - seq_offsets[s];
      if (len <= 0) continue;
      const int64_t column = static_cast<int64_t>(h) * head_dim;
      const HeadView view{q + t0 * ld_q + column,
                          ld_q,
                          k + t0 * ld_kv + column,
                          v + t0 * ld_kv + column,
                          ld_kv,
                          out + t0 * ld_out + column,
                          ld_out,
                          len,
                          head_dim,
                          scale};
      if (add_bias)
        attend_blocks(table, scratch, view, window, [&](int first_query, int query_count, float* scores) {
          add_bias(s, h, first_query, query_count, scores);
        });
      else
        attend_blocks(table, scratch, view, window, {});
    }
  });
}

}  // namespace

void attention(const float* q, const float* k, const float* v, int ld_in, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias) {
  run_attention(q, ld_in, k, v, ld_in, out, ld_out, seq_offsets, heads, head_dim, scale, -1, pool, add_bias);
}

void attention(const float* q, int ld_q, const float* k, const float* v, int ld_kv, float* out, int ld_out,
               std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale, ThreadPool& pool,
               const ScoreBias& add_bias) {
  run_attention(q, ld_q, k, v, ld_kv, out, ld_out, seq_offsets, heads, head_dim, scale, -1, pool, add_bias);
}

void local_attention(const float* q, const float* k, const float* v, int ld_in, float* out, int ld_out,
                     std::span<const int32_t> seq_offsets, int heads, int head_dim, float scale,
                     int half_window, ThreadPool& pool) {
  if (half_window < 0) half_window = 0;
  run_attention(q, ld_in, k, v, ld_in, out, ld_out, seq_offsets, heads, head_dim, scale, half_window, pool,
                {});
}

}  // namespace qp::kernels
