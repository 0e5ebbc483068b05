#include "quant/error_stats.h"

#include <algorithm>
#include <cmath>

namespace qp::quant {

ErrorStats compare_tensors(std::span<const float> reference, std::span<const float> approximation) {
  ErrorStats s;
  double squared_error = 0, squared_ref = 0, squared_approx = 0, dot = 0;
  const size_t n = std::min(reference.size(), approximation.size());
  for (size_t i = 0; i < n; ++i) {
    const double r = reference[i], a = approximation[i];
    if (!std::isfinite(a)) {
      ++s.nan_inf;
      continue;
    }
    const double d = a - r;
    squared_error += d * d;
    squared_ref += r * r;
    squared_approx += a * a;
    dot += r * a;
    s.max_abs = std::max(s.max_abs, std::fabs(d));
  }
  s.relative_mse = squared_ref > 0 ? squared_error / squared_ref : squared_error;
  s.cosine = (squared_ref > 0 && squared_approx > 0) ? dot / std::sqrt(squared_ref * squared_approx)
                                                     : (squared_ref == squared_approx ? 1.0 : 0.0);
  return s;
}

}  // namespace qp::quant
