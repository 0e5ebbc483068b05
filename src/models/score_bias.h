// Additive attention-score terms of the relative-position encoders, for one
// sequence and head, a block of queries at a time as a ScoreHook adds them:
// scores is [query_count × length], row r holding query i = first_query + r
// against every key j, and each term is added to the scaled scores before the
// softmax.
//
// Both depend on the offset i − j through a table by offset. A table for
// offsets [−R, R] has 2R + 1 values (index offset + R); offsets beyond ±R read
// its first or last value. *_by_offset(length, ...) (relative_position.h)
// covers a whole sequence (R = length − 1); the *_saturated tables below stop
// where the value stops mattering, so a model builds one table for every
// length.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qp {

// MPNet's buckets of key − query offsets [−max_distance, max_distance]: at
// max_distance or farther every bucket is the last of its half.
std::vector<int32_t> mpnet_buckets_saturated(int num_buckets, int max_distance);

// MPNet: scores[r][j] += table[bucket(j − i)][head], with table the
// encoder.relative_attention_bias weight [num_buckets × heads] and the buckets
// indexed by key − query offset.
void add_mpnet_score_bias(const std::vector<float>& table, int heads, int head,
                          std::span<const int32_t> buckets_by_offset, int length, int first_query,
                          int query_count, float* scores);

// DeBERTa's rel(i, j) for query − key offsets [−R, R], R the first distance
// whose |rel| reaches span: from there on both clamped rows below are the
// first or last one.
std::vector<int32_t> deberta_positions_saturated(int bucket_size, int max_position, int span);

// One sequence's projected rows for DeBERTa's disentangled terms.
struct DebertaBiasInputs {
  const float* q = nullptr;  // length rows, row stride ld; head h at columns [h·head_dim, (h+1)·head_dim)
  const float* k = nullptr;
  int ld = 0;
  const float* pos_q = nullptr;  // [2·span × …]: the layer's query projection of the relative embeddings
  const float* pos_k = nullptr;  // [2·span × …]: its key projection (share_att_key)
  int pos_ld = 0;
  int head_dim = 0;
  int span = 0;  // position_buckets (rows of pos_q / pos_k = 2·span)
};

// DeBERTa c2p + p2c of one head, multiplied by `scale`
// (1/√(head_dim · (1 + number of pos_att_types))), added to scores:
//   c2p[i][j] = q_i · pos_k[clamp(rel(i, j) + span)]
//   p2c[i][j] = k_j · pos_q[clamp(span − rel(j, i))]
// with rel(i, j) = rel_by_offset at query − key offset i − j and clamp to
// [0, 2·span). c2p takes the block's queries times the pos_k rows it reaches
// (one small GEMM, at most 2·span rows); p2c goes through the keys 16 at a
// time, each chunk times the pos_q rows its offsets to the block reach (at
// most 16 + query_count − 1). Nothing is kept between calls: per-thread
// scratch of about (query_count + 16 + head_dim) · 2·span floats.
void add_deberta_score_bias(const DebertaBiasInputs& in, int head, std::span<const int32_t> rel_by_offset,
                            int length, int first_query, int query_count, float scale, float* scores);

}  // namespace qp
