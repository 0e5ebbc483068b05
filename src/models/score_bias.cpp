#include "models/score_bias.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "kernels/dispatch.h"
#include "models/relative_position.h"

namespace qp {

namespace {

// The table's value at `offset`, offsets beyond its reach reading its ends.
int32_t by_offset(std::span<const int32_t> table, int offset) {
  const int reach = static_cast<int>(table.size() - 1) / 2;
  return table[std::clamp(offset, -reach, reach) + reach];
}

}  // namespace

std::vector<int32_t> mpnet_buckets_saturated(int num_buckets, int max_distance) {
  return mpnet_buckets_by_offset(std::max(max_distance, 0) + 1, num_buckets, max_distance);
}

void add_mpnet_score_bias(const std::vector<float>& table, int heads, int head,
                          std::span<const int32_t> buckets_by_offset, int length, int first_query,
                          int query_count, float* scores) {
  for (int r = 0; r < query_count; ++r) {
    const int i = first_query + r;
    float* row = scores + static_cast<size_t>(r) * length;
    for (int j = 0; j < length; ++j)
      row[j] += table[static_cast<size_t>(by_offset(buckets_by_offset, j - i)) * heads + head];
  }
}

std::vector<int32_t> deberta_positions_saturated(int bucket_size, int max_position, int span) {
  int reach = 0;
  while (std::abs(deberta_log_bucket(reach, bucket_size, max_position)) < span)
    if (++reach > (1 << 24))
      fail("internal: DeBERTa relative positions (bucket size ", bucket_size, ", max position ", max_position,
           ") never reach ", span);
  std::vector<int32_t> rel(2 * static_cast<size_t>(reach) + 1);
  for (int offset = -reach; offset <= reach; ++offset)
    rel[offset + reach] = deberta_log_bucket(offset, bucket_size, max_position);
  return rel;
}

namespace {

constexpr int kKeyChunk = 16;

// Grow-only 64-byte aligned storage.
struct FloatBuffer {
  kernels::AlignedFloats data;
  int64_t capacity = 0;
  float* get(int64_t n) {
    if (n > capacity) {
      data = kernels::alloc_floats(n);
      capacity = n;
    }
    return data.get();
  }
};

// One thread's scratch for add_deberta_score_bias: nothing carries over
// between calls but the allocations.
struct DebertaScratch {
  FloatBuffer pos_k, pos_q, c2p, p2c;
  std::vector<int32_t> c2p_rows, p2c_rows;
};

}  // namespace

void add_deberta_score_bias(const DebertaBiasInputs& in, int head, std::span<const int32_t> rel_by_offset,
                            int length, int first_query, int query_count, float scale, float* scores) {
  const int d = in.head_dim, rows = query_count;
  if (length <= 0 || rows <= 0 || d <= 0) return;
  const kernels::KernelTable& table = kernels::active_kernel_table();
  const int nr = table.nr, last = 2 * in.span - 1, col = head * d;
  const int i0 = first_query, i1 = first_query + rows;
  thread_local DebertaScratch s;

  // The embedding rows each offset reads. c2p_rows[r + length − 1 − j] is
  // query i0 + r's row for key j (query − key offsets i0 − length + 1 ..
  // i1 − 1); p2c_rows[j + rows − 1 − r] is key j's row for it (key − query
  // offsets 1 − i1 .. length − 1 − i0).
  const int offsets = length + rows - 1;
  s.c2p_rows.resize(offsets);
  s.p2c_rows.resize(offsets);
  int c2p_lo = last, c2p_hi = 0, p2c_lo = last, p2c_hi = 0;
  for (int e = 0; e < offsets; ++e) {
    const int c2p = std::clamp(by_offset(rel_by_offset, i0 - length + 1 + e) + in.span, 0, last);
    const int p2c = std::clamp(in.span - by_offset(rel_by_offset, 1 - i1 + e), 0, last);
    s.c2p_rows[e] = c2p;
    s.p2c_rows[e] = p2c;
    c2p_lo = std::min(c2p_lo, c2p), c2p_hi = std::max(c2p_hi, c2p);
    p2c_lo = std::min(p2c_lo, p2c), p2c_hi = std::max(p2c_hi, p2c);
  }

  // c2p: the block's queries times pos_k rows c2p_lo..c2p_hi, [rows × c2p_n].
  const int c2p_n = c2p_hi - c2p_lo + 1, c2p_panels = kernels::panel_count(c2p_n, nr);
  float* pos_k = s.pos_k.get(static_cast<int64_t>(c2p_panels) * nr * d);
  kernels::pack_panels(in.pos_k + static_cast<size_t>(c2p_lo) * in.pos_ld + col, in.pos_ld, c2p_n, d, nr,
                       pos_k);
  float* c2p = s.c2p.get(static_cast<int64_t>(rows) * c2p_n);
  const float* queries = in.q + static_cast<size_t>(i0) * in.ld + col;
  const kernels::PackedGemm c2p_gemm{
      queries, in.ld, pos_k, nullptr, c2p, c2p_n, c2p_n, d, kernels::Epilogue::None};
  kernels::gemm_block(table, c2p_gemm, 0, rows, 0, c2p_panels, d);

  // p2c: pos_q rows p2c_lo..p2c_hi packed once; each chunk of keys is
  // multiplied by just the panels its offsets reach, into [kKeyChunk × p2c_n].
  const int p2c_n = p2c_hi - p2c_lo + 1;
  float* pos_q = s.pos_q.get(static_cast<int64_t>(kernels::panel_count(p2c_n, nr)) * nr * d);
  kernels::pack_panels(in.pos_q + static_cast<size_t>(p2c_lo) * in.pos_ld + col, in.pos_ld, p2c_n, d, nr,
                       pos_q);
  float* p2c = s.p2c.get(static_cast<int64_t>(kKeyChunk) * p2c_n);
  for (int j0 = 0; j0 < length; j0 += kKeyChunk) {
    const int j1 = std::min(length, j0 + kKeyChunk);
    const auto [lo, hi] = std::minmax_element(s.p2c_rows.begin() + j0, s.p2c_rows.begin() + j1 + rows - 1);
    const float* keys = in.k + static_cast<size_t>(j0) * in.ld + col;
    const kernels::PackedGemm p2c_gemm{
        keys, in.ld, pos_q, nullptr, p2c, p2c_n, p2c_n, d, kernels::Epilogue::None};
    kernels::gemm_block(table, p2c_gemm, 0, j1 - j0, (*lo - p2c_lo) / nr, (*hi - p2c_lo) / nr + 1, d);
    for (int r = 0; r < rows; ++r) {
      const float* c2p_row = c2p + static_cast<size_t>(r) * c2p_n;
      const int32_t* c2p_at = s.c2p_rows.data() + r + length - 1;  // [−j]
      const int32_t* p2c_at = s.p2c_rows.data() + rows - 1 - r;    // [j]
      float* out = scores + static_cast<size_t>(r) * length;
      for (int j = j0; j < j1; ++j) {
        const float c2p_term = c2p_row[c2p_at[-j] - c2p_lo];
        const float p2c_term = p2c[static_cast<size_t>(j - j0) * p2c_n + p2c_at[j] - p2c_lo];
        out[j] += (c2p_term + p2c_term) * scale;
      }
    }
  }
}

}  // namespace qp
