// The relative-position pieces of MPNet and DeBERTa-v2 on their own: bucket
// functions against the values transformers 4.48 computes
// (tests/golden/relative_position, made by the script beside the JSON), and
// the score-bias functions on inputs small enough to work out by hand.
#include "models/relative_position.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/score_bias.h"

namespace qp {
namespace {

nlohmann::json golden() {
  std::ifstream in(std::filesystem::path(QUANTPIPE_SOURCE_DIR) /
                   "tests/golden/relative_position/relative_positions.json");
  return nlohmann::json::parse(in);
}

TEST(RelativePosition, MpnetBucketsMatchTransformers) {
  const nlohmann::json g = golden();
  for (const auto& c : g["mpnet"]) {
    const int first = c["first"], buckets = c["num_buckets"], distance = c["max_distance"];
    ASSERT_GT(c["buckets"].size(), 1000u);
    for (size_t i = 0; i < c["buckets"].size(); ++i) {
      const int rel = first + static_cast<int>(i);
      ASSERT_EQ(mpnet_relative_bucket(rel, buckets, distance), c["buckets"][i].get<int>())
          << "key - query " << rel << ", " << buckets << " buckets, max distance " << distance;
    }
  }
}

TEST(RelativePosition, MpnetBucketsByHand) {
  // Keys before the query use the lower half, exact up to 7 tokens away; keys
  // after it the upper half; far keys saturate at the half's last bucket.
  EXPECT_EQ(mpnet_relative_bucket(0, 32, 128), 0);
  EXPECT_EQ(mpnet_relative_bucket(-1, 32, 128), 1);
  EXPECT_EQ(mpnet_relative_bucket(-7, 32, 128), 7);
  EXPECT_EQ(mpnet_relative_bucket(1, 32, 128), 17);
  EXPECT_EQ(mpnet_relative_bucket(-8, 32, 128), 8);  // log(8/8) = 0
  EXPECT_EQ(mpnet_relative_bucket(-500, 32, 128), 15);
  EXPECT_EQ(mpnet_relative_bucket(500, 32, 128), 31);
  const std::vector<int32_t> table = mpnet_bucket_table(3, 32, 128);
  EXPECT_EQ(table, (std::vector<int32_t>{0, 17, 18, 1, 0, 17, 2, 1, 0}));
}

TEST(RelativePosition, DebertaLogBucketsMatchTransformers) {
  const nlohmann::json g = golden();
  for (const auto& c : g["deberta_log_bucket"]) {
    const int first = c["first"], size = c["bucket_size"], max_position = c["max_position"];
    ASSERT_GT(c["buckets"].size(), 1000u);
    for (size_t i = 0; i < c["buckets"].size(); ++i) {
      const int rel = first + static_cast<int>(i);
      ASSERT_EQ(deberta_log_bucket(rel, size, max_position), c["buckets"][i].get<int>())
          << "query - key " << rel << ", bucket size " << size << ", max position " << max_position;
    }
  }
  for (const auto& c : g["deberta_table"]) {
    const int length = c["length"];
    const std::vector<int32_t> table =
        deberta_relative_positions(length, c["bucket_size"], c["max_position"]);
    for (int i = 0; i < length; ++i)
      for (int j = 0; j < length; ++j)
        ASSERT_EQ(table[static_cast<size_t>(i) * length + j], c["table"][i][j].get<int>()) << i << "," << j;
  }
}

TEST(RelativePosition, DebertaLogBucketsByHand) {
  // Up to bucket_size / 2 the distance itself, sign kept; beyond, log-compressed
  // so that max_position - 1 lands on bucket_size / 2 + (bucket_size / 2 - 1).
  EXPECT_EQ(deberta_log_bucket(0, 16, 64), 0);
  EXPECT_EQ(deberta_log_bucket(8, 16, 64), 8);
  EXPECT_EQ(deberta_log_bucket(-8, 16, 64), -8);
  EXPECT_EQ(deberta_log_bucket(63, 16, 64), 15);
  EXPECT_EQ(deberta_log_bucket(-63, 16, 64), -15);
}

TEST(RelativePosition, ByOffsetMatchesTheTables) {
  for (int length : {1, 7, 40}) {
    const std::vector<int32_t> mpnet = mpnet_bucket_table(length, 32, 128);
    const std::vector<int32_t> mpnet_offsets = mpnet_buckets_by_offset(length, 32, 128);
    const std::vector<int32_t> deberta = deberta_relative_positions(length, 16, 64);
    const std::vector<int32_t> deberta_offsets = deberta_positions_by_offset(length, 16, 64);
    for (int i = 0; i < length; ++i)
      for (int j = 0; j < length; ++j) {
        EXPECT_EQ(mpnet[i * length + j], mpnet_offsets[j - i + length - 1]);
        EXPECT_EQ(deberta[i * length + j], deberta_offsets[i - j + length - 1]);
      }
  }
}

TEST(ScoreBias, MpnetLooksUpTheTablePerHead) {
  // table[bucket][head] = 10·bucket + head, added to scores of 0.5.
  const int heads = 2, buckets = 32, length = 2;
  std::vector<float> table(buckets * heads);
  for (int b = 0; b < buckets; ++b)
    for (int h = 0; h < heads; ++h) table[b * heads + h] = 10.0f * b + h;
  // Buckets of a 2-token sequence: [[0, 17], [1, 0]].
  for (int head = 0; head < heads; ++head) {
    std::vector<float> scores(length * length, 0.5f);
    add_mpnet_score_bias(table, heads, head, mpnet_buckets_by_offset(length, 32, 128), length, scores.data());
    EXPECT_EQ(scores, (std::vector<float>{0.5f + head, 170.5f + head, 10.5f + head, 0.5f + head})) << head;
  }
}

// One head of width 1 at column `head` of two: the other column holds 1000s
// that must not be read.
std::vector<float> column(const std::vector<float>& values, int head) {
  std::vector<float> rows;
  for (float v : values) {
    rows.push_back(head == 0 ? v : 1000.0f);
    rows.push_back(head == 1 ? v : 1000.0f);
  }
  return rows;
}

std::vector<float> deberta_bias(const std::vector<float>& q, const std::vector<float>& k,
                                const std::vector<float>& pos_q, const std::vector<float>& pos_k, int span,
                                float scale, int head) {
  const int length = static_cast<int>(q.size());
  const std::vector<float> qs = column(q, head), ks = column(k, head), pqs = column(pos_q, head),
                           pks = column(pos_k, head);
  const DebertaBiasInputs in{qs.data(), ks.data(), 2, pqs.data(), pks.data(), 2, 1, span};
  std::vector<float> scores(static_cast<size_t>(length) * length, 0.0f);
  add_deberta_score_bias(in, head, deberta_positions_by_offset(length, 16, 64), length, scale, scores.data());
  return scores;
}

TEST(ScoreBias, DebertaContentToPosition) {
  // q = 1, k = 0: only c2p counts, and pos_k[r] = r shows which relative
  // embedding row each pair reads: rel(i, j) + span = i - j + span here
  // (distances below bucket_size / 2 are not bucketed).
  const int length = 3, span = 4;
  std::vector<float> pos_k(2 * span), pos_q(2 * span, 100.0f);
  for (int r = 0; r < 2 * span; ++r) pos_k[r] = static_cast<float>(r);
  for (int head : {0, 1}) {
    const std::vector<float> bias = deberta_bias(
        std::vector<float>(length, 1.0f), std::vector<float>(length, 0.0f), pos_q, pos_k, span, 0.5f, head);
    for (int i = 0; i < length; ++i)
      for (int j = 0; j < length; ++j) EXPECT_FLOAT_EQ(bias[i * length + j], 0.5f * (i - j + span)) << i << j;
  }
}

TEST(ScoreBias, DebertaPositionToContent) {
  // q = 0, k = 1: only p2c counts; it reads pos_q at span - rel(j, i) = span + i - j.
  const int length = 3, span = 4;
  std::vector<float> pos_q(2 * span), pos_k(2 * span, 100.0f);
  for (int r = 0; r < 2 * span; ++r) pos_q[r] = static_cast<float>(r);
  const std::vector<float> bias = deberta_bias(std::vector<float>(length, 0.0f),
                                               std::vector<float>(length, 1.0f), pos_q, pos_k, span, 2.0f, 1);
  for (int i = 0; i < length; ++i)
    for (int j = 0; j < length; ++j) EXPECT_FLOAT_EQ(bias[i * length + j], 2.0f * (span + i - j)) << i << j;
}

TEST(ScoreBias, DebertaClampsFarPositions) {
  // span 2: rel(0, 3) = -3 → row clamp(-1) = 0; rel(3, 0) = 3 → row clamp(5) = 3.
  const int length = 4, span = 2;
  const std::vector<float> bias =
      deberta_bias(std::vector<float>(length, 1.0f), std::vector<float>(length, 0.0f),
                   std::vector<float>(4, 0.0f), {7, 8, 9, 10}, span, 1.0f, 0);
  EXPECT_FLOAT_EQ(bias[0 * length + 3], 7.0f);
  EXPECT_FLOAT_EQ(bias[3 * length + 0], 10.0f);
}

}  // namespace
}  // namespace qp
