// The output error is one matrix product, Eigen's, in double precision.
#include "quant/awq.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/quantize_ref.h"

namespace qp::quant {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The smallest magnitude a scale is built from, relative to the largest: a
// channel that never fired must not get a scale of zero.
constexpr double kFloor = 1e-4;

}  // namespace

double output_error(std::span<const float> w, std::span<const float> w_hat, int64_t n, int64_t k,
                    std::span<const double> hessian) {
  Matrix delta(n, k);
  for (int64_t i = 0; i < n * k; ++i) delta.data()[i] = static_cast<double>(w_hat[i]) - w[i];
  const Eigen::Map<const Matrix> h(hessian.data(), k, k);
  return (delta * h).cwiseProduct(delta).sum();
}

AwqResult awq_search(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                     std::span<const double> hessian, int64_t rows, const QuantScheme& scheme,
                     const AwqOptions& awq, const QuantOptions& options) {
  if (static_cast<int64_t>(hessian.size()) != k * k)
    fail("[awq] ", name, ": Hessian of ", hessian.size(), " values for K = ", k);
  if (static_cast<int64_t>(w.size()) != n * k)
    fail("[awq] ", name, ": ", w.size(), " weights for ", n, " × ", k);
  std::vector<double> magnitude(static_cast<size_t>(k));
  double largest = 0;
  for (int64_t j = 0; j < k; ++j) {
    const double d = hessian[static_cast<size_t>(j * k + j)];
    if (!std::isfinite(d) || d < 0) fail("[awq] ", name, ": Hessian diagonal ", j, " is ", d);
    magnitude[static_cast<size_t>(j)] = std::sqrt(d / static_cast<double>(std::max<int64_t>(1, rows)));
    largest = std::max(largest, magnitude[static_cast<size_t>(j)]);
  }
  for (double& m : magnitude) m = std::max(m, largest * kFloor + 1e-12);

  AwqResult best;
  std::vector<float> scaled(w.size()), restored(w.size());
  const int steps = awq.alpha ? 2 : std::max(1, awq.grid);
  for (int step = 0; step < steps; ++step) {
    // Step 0 is always α = 0 (round to nearest, the reference error).
    const double alpha =
        awq.alpha ? (step == 0 ? 0.0 : *awq.alpha) : static_cast<double>(step) / std::max(1, awq.grid);
    // s = m^α, centred so that max(s)·min(s) = 1 (scales both ways from 1).
    std::vector<double> s(static_cast<size_t>(k));
    double lo = INFINITY, hi = 0;
    for (int64_t j = 0; j < k; ++j) {
      s[static_cast<size_t>(j)] = std::pow(magnitude[static_cast<size_t>(j)], alpha);
      lo = std::min(lo, s[static_cast<size_t>(j)]);
      hi = std::max(hi, s[static_cast<size_t>(j)]);
    }
    const double centre = std::sqrt(lo * hi);
    for (double& v : s) v /= centre;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < k; ++j)
        scaled[static_cast<size_t>(r * k + j)] =
            static_cast<float>(w[static_cast<size_t>(r * k + j)] * s[static_cast<size_t>(j)]);
    const std::vector<float> q = quantize_ref(name, scaled, n, k, scheme, options).dequantize();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < k; ++j)
        restored[static_cast<size_t>(r * k + j)] =
            static_cast<float>(q[static_cast<size_t>(r * k + j)] / s[static_cast<size_t>(j)]);
    const double error = output_error(w, restored, n, k, hessian);
    if (step == 0) best.rtn_error = error;
    if (step == 0 || error < best.error || (awq.alpha && step == 1)) {
      best.error = error;
      best.alpha = alpha;
      best.scales.assign(s.begin(), s.end());
    }
  }
  return best;
}

}  // namespace qp::quant
