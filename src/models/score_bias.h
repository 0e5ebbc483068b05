// Additive attention-score terms of the relative-position encoders, for one
// sequence and head: each adds to that head's scaled scores [length × length]
// (row = query i, column = key j) before the softmax, as a ScoreHook does.
#pragma once

#include <cstdint>
#include <vector>

namespace qp {

// MPNet: scores[i][j] += table[bucket(j − i)][head], with table the
// encoder.relative_attention_bias weight [num_buckets × heads] and the buckets
// from mpnet_buckets_by_offset(length, ...).
void add_mpnet_score_bias(const std::vector<float>& table, int heads, int head,
                          const std::vector<int32_t>& buckets_by_offset, int length, float* scores);

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
// with rel from deberta_positions_by_offset(length, ...) and clamp to [0, 2·span).
void add_deberta_score_bias(const DebertaBiasInputs& in, int head, const std::vector<int32_t>& rel_by_offset,
                            int length, float scale, float* scores);

}  // namespace qp
