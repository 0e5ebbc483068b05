// Rotary embeddings and the sliding-window hook against their definitions,
// computed independently in double: RoPE rotates the pair (x[j], x[j + d/2])
// by angle p · theta^(-2j/d); the window keeps |i - j| <= half_window.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "models/rotary.h"
#include "models/sliding_window.h"

namespace qp {
namespace {

TEST(RotaryEmbedding, RotatesEachHeadsHalvesByPositionWithinItsSequence) {
  const int heads = 2, head_dim = 4, ld = 2 * heads * head_dim;  // q then k in one row
  const double theta = 100.0;
  EncoderBatch batch;
  batch.seq_offsets = {0, 3, 5};  // two sequences: positions 0,1,2 and 0,1
  const int tokens = 5;
  std::vector<float> qk(static_cast<size_t>(tokens) * ld);
  for (size_t i = 0; i < qk.size(); ++i) qk[i] = static_cast<float>(std::sin(0.7 * i + 0.3));
  const std::vector<float> before = qk;
  RotaryEmbedding(theta, head_dim)
      .apply({qk.data(), qk.data() + heads * head_dim, ld, heads, head_dim, 0, &batch});
  const int positions[tokens] = {0, 1, 2, 0, 1};
  for (int t = 0; t < tokens; ++t)
    for (int h = 0; h < 2 * heads; ++h)  // q heads then k heads
      for (int j = 0; j < head_dim / 2; ++j) {
        const size_t a = static_cast<size_t>(t) * ld + h * head_dim + j, b = a + head_dim / 2;
        const double angle = positions[t] * std::pow(theta, -2.0 * j / head_dim);
        EXPECT_NEAR(qk[a], before[a] * std::cos(angle) - before[b] * std::sin(angle), 1e-6) << t << " " << h;
        EXPECT_NEAR(qk[b], before[b] * std::cos(angle) + before[a] * std::sin(angle), 1e-6) << t << " " << h;
      }
}

TEST(RotaryEmbedding, RefusesAnOddHeadDimension) { EXPECT_ANY_THROW(RotaryEmbedding(10000.0, 3)); }

TEST(SlidingWindowHook, MasksKeysFartherThanHalfTheWindow) {
  EncoderBatch batch;
  batch.seq_offsets = {0, 2, 7};
  const int len = 5;
  const ScoreContext context{nullptr, nullptr, 0, 0, 0, &batch};
  // The whole sequence at once, then queries 3..4 as one block.
  for (const auto& [first, count] : {std::pair{0, 5}, std::pair{3, 2}}) {
    std::vector<float> scores(count * len, 1.5f);
    SlidingWindowHook(2).add_bias(context, 1, 0, first, count, scores.data());
    for (int r = 0; r < count; ++r)
      for (int j = 0; j < len; ++j) {
        const int i = first + r;
        if (std::abs(i - j) <= 2)
          EXPECT_EQ(scores[r * len + j], 1.5f) << i << " " << j;
        else
          EXPECT_EQ(scores[r * len + j], std::numeric_limits<float>::lowest()) << i << " " << j;
      }
  }
}

}  // namespace
}  // namespace qp
