#include "models/score_bias.h"

#include <algorithm>

namespace qp {

void add_mpnet_score_bias(const std::vector<float>& table, int heads, int head,
                          const std::vector<int32_t>& buckets_by_offset, int length, float* scores) {
  for (int i = 0; i < length; ++i)
    for (int j = 0; j < length; ++j)
      scores[static_cast<size_t>(i) * length + j] +=
          table[static_cast<size_t>(buckets_by_offset[j - i + length - 1]) * heads + head];
}

namespace {
float dot(const float* a, const float* b, int n) {
  float sum = 0;
  for (int d = 0; d < n; ++d) sum += a[d] * b[d];
  return sum;
}
}  // namespace

void add_deberta_score_bias(const DebertaBiasInputs& in, int head, const std::vector<int32_t>& rel_by_offset,
                            int length, float scale, float* scores) {
  const int last = 2 * in.span - 1, col = head * in.head_dim;
  const auto rel = [&](int i, int j) { return rel_by_offset[i - j + length - 1]; };
  for (int i = 0; i < length; ++i) {
    const float* q = in.q + static_cast<size_t>(i) * in.ld + col;
    for (int j = 0; j < length; ++j) {
      const float* k = in.k + static_cast<size_t>(j) * in.ld + col;
      const int c2p_row = std::clamp(rel(i, j) + in.span, 0, last);
      const int p2c_row = std::clamp(in.span - rel(j, i), 0, last);
      const float c2p = dot(q, in.pos_k + static_cast<size_t>(c2p_row) * in.pos_ld + col, in.head_dim);
      const float p2c = dot(k, in.pos_q + static_cast<size_t>(p2c_row) * in.pos_ld + col, in.head_dim);
      scores[static_cast<size_t>(i) * length + j] += (c2p + p2c) * scale;
    }
  }
}

}  // namespace qp
