// What ggml's block formats share: half-precision fields inside block bytes,
// and the value of largest magnitude that their scales start from.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half.h"

namespace qp::quant::ggml {

inline void put_half(uint8_t* out, float value) {
  const uint16_t h = f32_to_f16(value);
  std::memcpy(out, &h, 2);
}

inline float get_half(const uint8_t* in) {
  uint16_t h;
  std::memcpy(&h, in, 2);
  return f16_to_f32(h);
}

// The value of largest magnitude, sign kept; the first one on ties, as ggml picks it.
inline float signed_absmax(const float* x, int64_t count) {
  float amax = 0.0f, max = 0.0f;
  for (int64_t j = 0; j < count; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

}  // namespace qp::quant::ggml
