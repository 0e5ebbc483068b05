#include "train/attention_grad.h"

#include <algorithm>
#include <cmath>

namespace qp::train {

std::vector<int64_t> probs_offsets(std::span<const int32_t> seq_offsets, int heads) {
  std::vector<int64_t> offsets(seq_offsets.size(), 0);
  for (size_t s = 0; s + 1 < seq_offsets.size(); ++s) {
    const int64_t len = seq_offsets[s + 1] - seq_offsets[s];
    offsets[s + 1] = offsets[s] + heads * len * len;
  }
  return offsets;
}

void attention_forward(const float* qkv, std::span<const int32_t> seq_offsets, const AttentionShape& shape,
                       float* context, std::vector<float>& probs, ThreadPool& pool) {
  const int sequences = static_cast<int>(seq_offsets.size()) - 1;
  const int hidden = shape.hidden(), d = shape.head_dim, ld = 3 * hidden;
  const std::vector<int64_t> offsets = probs_offsets(seq_offsets, shape.heads);
  probs.resize(offsets.back());
  pool.parallel_for(static_cast<int64_t>(sequences) * shape.heads, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int s = static_cast<int>(task / shape.heads), h = static_cast<int>(task % shape.heads);
      const int first = seq_offsets[s], len = seq_offsets[s + 1] - first;
      float* p = probs.data() + offsets[s] + static_cast<int64_t>(h) * len * len;
      for (int i = 0; i < len; ++i) {
        const float* q = qkv + static_cast<int64_t>(first + i) * ld + h * d;
        float* row = p + static_cast<int64_t>(i) * len;
        float top = -INFINITY;
        for (int j = 0; j < len; ++j) {
          const float* k = qkv + static_cast<int64_t>(first + j) * ld + hidden + h * d;
          float dot = 0.0f;
          for (int c = 0; c < d; ++c) dot += q[c] * k[c];
          row[j] = dot * shape.scale;
          top = std::max(top, row[j]);
        }
        float sum = 0.0f;
        for (int j = 0; j < len; ++j) {
          row[j] = std::exp(row[j] - top);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j < len; ++j) row[j] *= inv;
        float* out = context + static_cast<int64_t>(first + i) * hidden + h * d;
        std::fill(out, out + d, 0.0f);
        for (int j = 0; j < len; ++j) {
          const float* v = qkv + static_cast<int64_t>(first + j) * ld + 2 * hidden + h * d;
          for (int c = 0; c < d; ++c) out[c] += row[j] * v[c];
        }
      }
    }
  });
}

void attention_backward(const float* d_context, const float* qkv, const std::vector<float>& probs,
                        std::span<const int32_t> seq_offsets, const AttentionShape& shape, float* d_qkv,
                        ThreadPool& pool) {
  const int sequences = static_cast<int>(seq_offsets.size()) - 1;
  const int hidden = shape.hidden(), d = shape.head_dim, ld = 3 * hidden;
  const std::vector<int64_t> offsets = probs_offsets(seq_offsets, shape.heads);
  // Each (sequence, head) writes only its own rows and head columns of d_qkv.
  pool.parallel_for(static_cast<int64_t>(sequences) * shape.heads, [&](int64_t begin, int64_t end) {
    std::vector<float> d_scores;
    for (int64_t task = begin; task < end; ++task) {
      const int s = static_cast<int>(task / shape.heads), h = static_cast<int>(task % shape.heads);
      const int first = seq_offsets[s], len = seq_offsets[s + 1] - first;
      const float* p = probs.data() + offsets[s] + static_cast<int64_t>(h) * len * len;
      auto q_at = [&](int i) { return qkv + static_cast<int64_t>(first + i) * ld + h * d; };
      auto k_at = [&](int j) { return q_at(j) + hidden; };
      auto v_at = [&](int j) { return q_at(j) + 2 * hidden; };
      auto dq_at = [&](int i) { return d_qkv + static_cast<int64_t>(first + i) * ld + h * d; };
      auto dk_at = [&](int j) { return dq_at(j) + hidden; };
      auto dv_at = [&](int j) { return dq_at(j) + 2 * hidden; };
      for (int i = 0; i < len; ++i) {
        std::fill(dq_at(i), dq_at(i) + d, 0.0f);
        std::fill(dk_at(i), dk_at(i) + d, 0.0f);
        std::fill(dv_at(i), dv_at(i) + d, 0.0f);
      }
      d_scores.resize(len);
      for (int i = 0; i < len; ++i) {
        const float* pi = p + static_cast<int64_t>(i) * len;
        const float* dout = d_context + static_cast<int64_t>(first + i) * hidden + h * d;
        // dV[j] += P[i][j]·dO[i]; dP[i][j] = dO[i]·V[j].
        float weighted = 0.0f;
        for (int j = 0; j < len; ++j) {
          float* dv = dv_at(j);
          const float* v = v_at(j);
          float dp = 0.0f;
          for (int c = 0; c < d; ++c) {
            dv[c] += pi[j] * dout[c];
            dp += dout[c] * v[c];
          }
          d_scores[j] = dp;
          weighted += pi[j] * dp;
        }
        // Softmax: dS = P·(dP − Σ P·dP); the scale carries over to q and k.
        float* dq = dq_at(i);
        const float* q = q_at(i);
        for (int j = 0; j < len; ++j) {
          const float ds = pi[j] * (d_scores[j] - weighted) * shape.scale;
          const float* k = k_at(j);
          float* dk = dk_at(j);
          for (int c = 0; c < d; ++c) {
            dq[c] += ds * k[c];
            dk[c] += ds * q[c];
          }
        }
      }
    }
  });
}

}  // namespace qp::train
