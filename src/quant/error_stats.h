// How far a quantized tensor is from its source: relative MSE (MSE over the
// source's mean square), cosine, max |Δ| and the count of NaN/Inf values.
#pragma once

#include <cstdint>
#include <span>

namespace qp::quant {

struct ErrorStats {
  double relative_mse = 0;
  double cosine = 1;
  double max_abs = 0;
  int64_t nan_inf = 0;
};

ErrorStats compare_tensors(std::span<const float> reference, std::span<const float> approximation);

}  // namespace qp::quant
