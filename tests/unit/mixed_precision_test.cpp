// The mixed-precision planner against brute force: on small random
// instances it must find the least-error plan within a size budget, the
// smallest plan within an error bound, honour per-unit floors, and say when
// nothing fits.
#include "quant/mixed_precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace qp::quant {
namespace {

// Units of 2–4 options whose errors fall as bytes grow (with noise, so some
// options are dominated), as measured sensitivities do.
std::vector<PrecisionUnit> random_units(std::mt19937& rng, int count) {
  std::uniform_int_distribution<int> options(2, 4), bytes(10, 400);
  std::uniform_real_distribution<double> error(0.0, 1.0);
  std::vector<PrecisionUnit> units;
  for (int u = 0; u < count; ++u) {
    PrecisionUnit unit{"unit" + std::to_string(u), {"t" + std::to_string(u)}, {}};
    const int n = options(rng);
    for (int o = 0; o < n; ++o) {
      const int b = bytes(rng);
      unit.options.push_back({parse_scheme("q4_affine_g64"), b, error(rng) * 1000.0 / b});
    }
    units.push_back(std::move(unit));
  }
  return units;
}

struct Best {
  double error = std::numeric_limits<double>::infinity();
  int64_t bytes = std::numeric_limits<int64_t>::max();
};

// Every combination: least error within max_bytes, and smallest bytes with
// error ≤ max_error.
void brute_force(const std::vector<PrecisionUnit>& units, int64_t fixed, int64_t max_bytes, double max_error,
                 const std::vector<int64_t>& floors, Best& within_bytes, Best& within_error) {
  std::vector<size_t> pick(units.size(), 0);
  while (true) {
    int64_t bytes = fixed;
    double error = 0;
    bool allowed = true;
    for (size_t u = 0; u < units.size(); ++u) {
      bytes += units[u].options[pick[u]].bytes;
      error += units[u].options[pick[u]].error;
      allowed = allowed && (floors.empty() || units[u].options[pick[u]].bytes >= floors[u]);
    }
    if (allowed && bytes <= max_bytes && error < within_bytes.error) within_bytes = {error, bytes};
    if (allowed && error <= max_error && bytes < within_error.bytes) within_error = {error, bytes};
    size_t u = 0;
    while (u < units.size() && ++pick[u] == units[u].options.size()) pick[u++] = 0;
    if (u == units.size()) break;
  }
}

TEST(MixedPrecision, MatchesBruteForceOnRandomInstances) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const auto units = random_units(rng, 1 + trial % 5);
    const int64_t fixed = 50;
    const int64_t low = smallest_plan_bytes(units, fixed), high = largest_plan_bytes(units, fixed);
    const int64_t max_bytes = low + (high - low) * (trial % 7) / 6;
    const double max_error = std::uniform_real_distribution<double>(0.0, 20.0)(rng);
    std::vector<int64_t> floors;
    if (trial % 3 == 0)
      for (const PrecisionUnit& u : units) floors.push_back(u.options[trial % u.options.size()].bytes / 2);
    Best within_bytes, within_error;
    brute_force(units, fixed, max_bytes, max_error, floors, within_bytes, within_error);

    const auto by_size = choose_precision(units, fixed, {max_bytes, std::nullopt, floors});
    ASSERT_EQ(by_size.has_value(), std::isfinite(within_bytes.error)) << "trial " << trial;
    if (by_size) {
      EXPECT_LE(by_size->bytes, max_bytes);
      EXPECT_NEAR(by_size->error, within_bytes.error, 1e-9) << "trial " << trial;
      int64_t bytes = fixed;
      double error = 0;
      for (size_t u = 0; u < units.size(); ++u) {
        const PrecisionOption& o = units[u].options[static_cast<size_t>(by_size->choice[u])];
        bytes += o.bytes;
        error += o.error;
        if (!floors.empty()) {
          EXPECT_GE(o.bytes, floors[u]);
        }
      }
      EXPECT_EQ(bytes, by_size->bytes);
      EXPECT_NEAR(error, by_size->error, 1e-9);
    }
    const auto by_error = choose_precision(units, fixed, {std::nullopt, max_error, floors});
    ASSERT_EQ(by_error.has_value(), within_error.bytes != std::numeric_limits<int64_t>::max())
        << "trial " << trial;
    if (by_error) {
      EXPECT_EQ(by_error->bytes, within_error.bytes) << "trial " << trial;
      EXPECT_LE(by_error->error, max_error);
    }
  }
}

TEST(MixedPrecision, LargeSizesStayWithinTheBudgetDespiteBuckets) {
  // Sizes far above the bucket count: the rounding must never let a plan
  // exceed the budget, and a larger budget never loses more.
  std::mt19937 rng(11);
  auto units = random_units(rng, 30);
  for (PrecisionUnit& u : units)
    for (PrecisionOption& o : u.options) o.bytes *= 100003;
  const int64_t fixed = 12345, low = smallest_plan_bytes(units, fixed),
                high = largest_plan_bytes(units, fixed);
  double previous = std::numeric_limits<double>::infinity();
  for (int step = 0; step <= 10; ++step) {
    const int64_t budget = low + (high - low) * step / 10;
    const auto plan = choose_precision(units, fixed, {budget, std::nullopt, {}});
    ASSERT_TRUE(plan) << "step " << step;
    EXPECT_LE(plan->bytes, budget);
    EXPECT_LE(plan->error, previous + 1e-12);
    previous = plan->error;
  }
}

TEST(MixedPrecision, NothingFitsBelowTheSmallestPlan) {
  std::mt19937 rng(3);
  const auto units = random_units(rng, 4);
  const int64_t low = smallest_plan_bytes(units, 100);
  EXPECT_FALSE(choose_precision(units, 100, {low - 1, std::nullopt, {}}));
  EXPECT_TRUE(choose_precision(units, 100, {low, std::nullopt, {}}));
  EXPECT_FALSE(choose_precision(units, 100, {std::nullopt, -1.0, {}}));
  EXPECT_THROW(choose_precision(units, 100, {}), Error);
}

TEST(MixedPrecision, RecordRoundTrips) {
  std::mt19937 rng(5);
  auto units = random_units(rng, 3);
  units[1].options.push_back({std::nullopt, 999, 0.0});
  const auto plan = choose_precision(units, 0, {std::nullopt, 1e9, {}});
  ASSERT_TRUE(plan);
  const nlohmann::json record = plan_to_json(units, *plan);
  const auto back = units_from_json(record);
  ASSERT_EQ(back.size(), units.size());
  for (size_t u = 0; u < units.size(); ++u) {
    EXPECT_EQ(back[u].name, units[u].name);
    ASSERT_EQ(back[u].options.size(), units[u].options.size());
    for (size_t o = 0; o < units[u].options.size(); ++o) {
      EXPECT_EQ(back[u].options[o].scheme, units[u].options[o].scheme);
      EXPECT_EQ(back[u].options[o].bytes, units[u].options[o].bytes);
      EXPECT_EQ(back[u].options[o].error, units[u].options[o].error);
    }
  }
  EXPECT_EQ(record["units"][1]["options"].back()["scheme"], "keep");
  EXPECT_THROW(units_from_json(nlohmann::json{{"units", {{{"name", "x"}}}}}), Error);
}

}  // namespace
}  // namespace qp::quant
