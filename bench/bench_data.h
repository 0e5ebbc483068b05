// Reproducible inputs for the kernel benchmarks.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

namespace qp::bench {

// n values from N(0, stddev²), the same on every run and machine for a seed.
inline std::vector<float> random_normal(size_t n, float stddev, unsigned seed = 42) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace qp::bench
