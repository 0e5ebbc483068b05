#include "core/tensor.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace qp {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<float> to_f32(const TensorView& view) {
  const int64_t n = view.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (view.dtype) {
    case DType::F32:
      std::memcpy(out.data(), view.data, n * sizeof(float));
      break;
    case DType::F16:
    case DType::BF16: {
      const bool is_f16 = view.dtype == DType::F16;
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, view.data + 2 * i, 2);
        out[i] = is_f16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    }
    default:
      fail("tensor '", view.name, "' has dtype ", dtype_name(view.dtype), ", expected F32, F16 or BF16");
  }
  return out;
}

void require_finite(const std::vector<float>& values, const std::string& what) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    if (bad++ == 0) first = i;
  }
  if (bad == 0) return;
  const float v = values[first];
  fail(what, " holds ", std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), " at element ", first, " (", bad,
       bad == 1 ? " value is" : " values are", " NaN or infinite); the weights are corrupt");
}

}  // namespace qp
