// The relative-position pieces of MPNet and DeBERTa-v2 on their own: bucket
// functions against the values transformers 4.48 computes
// (tests/golden/relative_position, made by the script beside the JSON), and
// the score-bias functions on inputs small enough to work out by hand.
#include "models/relative_position.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "core/cpu_isa.h"
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
    add_mpnet_score_bias(table, heads, head, mpnet_buckets_by_offset(length, 32, 128), length, 0, length,
                         scores.data());
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
  add_deberta_score_bias(in, head, deberta_positions_by_offset(length, 16, 64), length, 0, length, scale,
                         scores.data());
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

// Blocks of query rows [first, first + count) that cover a sequence: `block`
// rows at a time.
std::vector<std::pair<int, int>> blocks(int length, int block) {
  std::vector<std::pair<int, int>> result;
  for (int first = 0; first < length; first += block)
    result.emplace_back(first, std::min(block, length - first));
  return result;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(n);
  for (float& x : values) x = dist(rng);
  return values;
}

// The saturated tables give what the whole-sequence tables give, far past
// their ends: MPNet's buckets exactly, DeBERTa's relative positions once
// clamped to an embedding row.
TEST(ScoreBias, SaturatedTablesMatchTheWholeSequence) {
  const int length = 3000;
  for (const auto& [buckets, distance] : {std::pair{32, 128}, std::pair{16, 40}}) {
    const std::vector<int32_t> whole = mpnet_buckets_by_offset(length, buckets, distance);
    const std::vector<int32_t> saturated = mpnet_buckets_saturated(buckets, distance);
    ASSERT_LT(saturated.size(), whole.size());
    const int reach = static_cast<int>(saturated.size() / 2);
    for (int offset = 1 - length; offset < length; ++offset)
      ASSERT_EQ(saturated[std::clamp(offset, -reach, reach) + reach], whole[offset + length - 1])
          << "mpnet " << buckets << "/" << distance << " offset " << offset;
  }
  for (const auto& [span, max_position] : {std::pair{256, 512}, std::pair{16, 48}, std::pair{4, 64}}) {
    const std::vector<int32_t> whole = deberta_positions_by_offset(length, span, max_position);
    const std::vector<int32_t> saturated = deberta_positions_saturated(span, max_position, span);
    ASSERT_LT(saturated.size(), whole.size());
    const int reach = static_cast<int>(saturated.size() / 2), last = 2 * span - 1;
    for (int offset = 1 - length; offset < length; ++offset) {
      const int rel = saturated[std::clamp(offset, -reach, reach) + reach];
      ASSERT_EQ(std::clamp(rel + span, 0, last), std::clamp(whole[offset + length - 1] + span, 0, last))
          << "deberta " << span << "/" << max_position << " offset " << offset;
      ASSERT_EQ(std::clamp(span - rel, 0, last), std::clamp(span - whole[offset + length - 1], 0, last))
          << "deberta " << span << "/" << max_position << " offset " << offset;
    }
  }
}

// MPNet's bias a block of queries at a time, with the saturated buckets,
// against the whole matrix from the whole-sequence buckets.
TEST(ScoreBias, MpnetBlocksMatchTheWholeMatrix) {
  const int heads = 3, buckets = 32, distance = 128;
  const std::vector<float> table = random_values(buckets * heads, 5);
  const std::vector<int32_t> saturated = mpnet_buckets_saturated(buckets, distance);
  for (int length : {1, 63, 64, 65, 200, 300}) {
    const std::vector<int32_t> whole = mpnet_buckets_by_offset(length, buckets, distance);
    const std::vector<float> start = random_values(static_cast<size_t>(length) * length, length);
    for (int head = 0; head < heads; ++head) {
      std::vector<float> expected = start;
      for (int i = 0; i < length; ++i)
        for (int j = 0; j < length; ++j)
          expected[static_cast<size_t>(i) * length + j] +=
              table[static_cast<size_t>(whole[j - i + length - 1]) * heads + head];
      for (int block : {64, 17}) {
        std::vector<float> scores = start;
        for (const auto& [first, count] : blocks(length, block))
          add_mpnet_score_bias(table, heads, head, saturated, length, first, count,
                               scores.data() + static_cast<size_t>(first) * length);
        ASSERT_EQ(scores, expected) << "length " << length << " head " << head << " block " << block;
      }
    }
  }
}

// The c2p + p2c definition, one dot product pair per score (the way
// add_deberta_score_bias computed it before it worked in blocks).
void deberta_bias_reference(const DebertaBiasInputs& in, int head, const std::vector<int32_t>& rel_by_offset,
                            int length, float scale, float* scores) {
  const int last = 2 * in.span - 1, col = head * in.head_dim;
  const auto rel = [&](int i, int j) { return rel_by_offset[i - j + length - 1]; };
  const auto dot = [&](const float* a, const float* b) {
    float sum = 0;
    for (int d = 0; d < in.head_dim; ++d) sum += a[d] * b[d];
    return sum;
  };
  for (int i = 0; i < length; ++i) {
    const float* q = in.q + static_cast<size_t>(i) * in.ld + col;
    for (int j = 0; j < length; ++j) {
      const float* k = in.k + static_cast<size_t>(j) * in.ld + col;
      const int c2p_row = std::clamp(rel(i, j) + in.span, 0, last);
      const int p2c_row = std::clamp(in.span - rel(j, i), 0, last);
      const float c2p = dot(q, in.pos_k + static_cast<size_t>(c2p_row) * in.pos_ld + col);
      const float p2c = dot(k, in.pos_q + static_cast<size_t>(p2c_row) * in.pos_ld + col);
      scores[static_cast<size_t>(i) * length + j] += (c2p + p2c) * scale;
    }
  }
}

// DeBERTa's bias in blocks (GEMMs over the embedding rows each block reaches,
// the saturated positions) against the scalar definition with the
// whole-sequence positions, on random inputs, on every ISA: a small span that
// long sequences saturate, and DeBERTa-v3-base's shape (span 256, max 512).
TEST(ScoreBias, DebertaBlocksMatchTheScalarFormula) {
  struct Case {
    int head_dim, span, max_position;
    std::vector<int> lengths;
  };
  const Case cases[] = {{24, 16, 48, {1, 5, 63, 64, 65, 200, 300}}, {64, 256, 512, {130, 600}}};
  const int heads = 2;
  for (const Case& c : cases) {
    const int width = heads * c.head_dim, ld = 3 * width + 5, pos_ld = 2 * width + 3;
    const std::vector<float> positions = random_values(static_cast<size_t>(2 * c.span) * pos_ld, c.span);
    const std::vector<int32_t> saturated = deberta_positions_saturated(c.span, c.max_position, c.span);
    const float scale = 1.0f / std::sqrt(c.head_dim * 3.0f);
    for (int length : c.lengths) {
      const std::vector<float> qk = random_values(static_cast<size_t>(length) * ld, length + c.span);
      const std::vector<float> start = random_values(static_cast<size_t>(length) * length, length);
      const DebertaBiasInputs in{
          qk.data(), qk.data() + width, ld,    positions.data(), positions.data() + width + 1,
          pos_ld,    c.head_dim,        c.span};
      for (int head = 0; head < heads; ++head) {
        std::vector<float> expected = start;
        deberta_bias_reference(in, head, deberta_positions_by_offset(length, c.span, c.max_position), length,
                               scale, expected.data());
        const Isa saved = active_isa();
        for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
          set_isa_cap(static_cast<Isa>(isa));
          for (int block : {64, 17}) {
            std::vector<float> scores = start;
            for (const auto& [first, count] : blocks(length, block))
              add_deberta_score_bias(in, head, saturated, length, first, count, scale,
                                     scores.data() + static_cast<size_t>(first) * length);
            double worst = 0;
            for (size_t e = 0; e < scores.size(); ++e)
              worst = std::max(worst, std::fabs(double(scores[e]) - expected[e]) /
                                          std::max(1.0, std::fabs(double(expected[e]))));
            EXPECT_LE(worst, 1e-5) << isa_name(static_cast<Isa>(isa)) << " span " << c.span << " length "
                                   << length << " head " << head << " block " << block;
          }
        }
        set_isa_cap(saved);
      }
    }
  }
}

}  // namespace
}  // namespace qp
