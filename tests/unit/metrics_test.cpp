#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/stats.h"

namespace qp {
namespace {

TEST(Metrics, AccuracyCountsMatches) {
  EXPECT_DOUBLE_EQ(accuracy({"a", "b", "c", "a"}, {"a", "b", "a", "a"}), 0.75);
  EXPECT_THROW(accuracy({"a"}, {"a", "b"}), Error);
  EXPECT_THROW(accuracy({}, {}), Error);
}

TEST(Metrics, SpearmanUsesAverageRanksForTies) {
  // ranks [1, 2.5, 2.5, 4] vs [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5) = 0.9486832980505138
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 3, 2, 4}), 0.9486832980505138, 1e-12);
  EXPECT_EQ(average_ranks({10, 20, 20, 5}), (std::vector<double>{2, 3.5, 3.5, 1}));
  EXPECT_NEAR(spearman({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
}

TEST(Metrics, PearsonAndCosine) {
  // numpy.corrcoef([1, 2, 3, 4], [2, 4, 6, 8.5])[0, 1]
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {2, 4, 6, 8.5}), 0.9983814394570298, 1e-12);
  EXPECT_NEAR(cosine_similarity({1, 0}, {1, 1}), std::sqrt(0.5), 1e-12);
  EXPECT_EQ(cosine_similarity({0, 0}, {1, 1}), 0.0);
}

TEST(Stats, PercentilesInterpolateLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4, 10], [50, 95, 99]) == [3, 8.8, 9.76]
  const SampleStats s = summarize({4, 1, 10, 3, 2});
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_NEAR(s.p95, 8.8, 1e-12);
  EXPECT_NEAR(s.p99, 9.76, 1e-12);
  EXPECT_DOUBLE_EQ(s.mean, 4);
  EXPECT_GT(peak_rss_bytes(), 0);
}

}  // namespace
}  // namespace qp
