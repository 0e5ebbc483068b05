// Finite-difference gradient checks for the training ops: the loss is
// L = Σ r·f(x) for a fixed random r, so ∂L/∂x is what an op's backward gives
// for upstream gradient r; central differences estimate it independently.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace qp::train::testing {

inline std::vector<float> random_values(size_t n, unsigned seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

// Compares analytic[i] with (L(x + h·e_i) − L(x − h·e_i)) / 2h for every i
// (or every `stride`-th), where loss() reads `x` as it stands. Tolerance:
// |Δ| ≤ atol + rtol·|numeric|.
inline void expect_gradient(const std::string& what, std::vector<float>& x,
                            const std::vector<float>& analytic, const std::function<double()>& loss,
                            double h = 1e-2, double atol = 2e-3, double rtol = 2e-2, size_t stride = 1) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  int checked = 0;
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const float saved = x[i];
    x[i] = saved + static_cast<float>(h);
    const double up = loss();
    x[i] = saved - static_cast<float>(h);
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    const double diff = std::fabs(numeric - analytic[i]);
    worst = std::max(worst, diff);
    EXPECT_LE(diff, atol + rtol * std::fabs(numeric))
        << what << "[" << i << "]: analytic " << analytic[i] << ", finite differences " << numeric;
    ++checked;
  }
  EXPECT_GT(checked, 0) << what;
}

}  // namespace qp::train::testing
