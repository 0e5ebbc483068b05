// Tensor views over stored bytes (never owning), and a small owning fp32
// matrix for activations and dequantized weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qp {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "[384, 1536]"

// A named tensor stored somewhere else (an mmapped file).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const { return shape_numel(shape); }
};

// Converts F32 / F16 / BF16 views to fp32; throws naming the tensor otherwise.
std::vector<float> to_f32(const TensorView& view);

// Throws "<what> holds NaN at element 12 (3 values are NaN or infinite)" when
// any value is not finite: a weight like that silently poisons every output
// (or, after quantization, turns into plausible numbers), so it is refused.
void require_finite(const std::vector<float>& values, const std::string& what);

}  // namespace qp
