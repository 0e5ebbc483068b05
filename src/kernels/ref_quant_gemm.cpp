// Scalar reference for QuantLinear (see quant_linear.h for the arithmetic).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/quant_dispatch.h"
#include "kernels/quant_linear.h"
#include "kernels/ref_ops.h"

namespace qp::kernels {
namespace {

// int8 activations of all rows plus their scales and per-group sums, shared by
// every output column.
struct QuantizedActivations {
  std::vector<int8_t> values;       // [m, k]
  std::vector<float> scales;        // [m]
  std::vector<int32_t> group_sums;  // [m, k/group]
};

QuantizedActivations quantize_activations(const float* x, int m, int k, int group, ThreadPool& pool) {
  QuantizedActivations act;
  const int groups = k / group;
  act.values.resize(static_cast<size_t>(m) * k);
  act.scales.resize(m);
  act.group_sums.resize(static_cast<size_t>(m) * groups);
  pool.parallel_for(m, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int8_t* row = &act.values[r * k];
      act.scales[r] = quantize_activation_row(x + r * k, k, row);
      for (int g = 0; g < groups; ++g) {
        int32_t sum = 0;
        for (int i = g * group; i < (g + 1) * group; ++i) sum += row[i];
        act.group_sums[r * groups + g] = sum;
      }
    }
  });
  return act;
}

}  // namespace

float quantize_activation_row(const float* x, int k, int8_t* x_q) {
  float absmax = 0.0f;
  bool finite = true;
  for (int i = 0; i < k; ++i) {
    finite = finite && std::isfinite(x[i]);
    absmax = std::max(absmax, std::fabs(x[i]));
  }
  if (absmax == 0.0f || !finite) {
    // All zero: any scale works. Non-finite: a NaN scale makes the whole output
    // row NaN, so the fault shows downstream instead of being clamped away.
    std::fill_n(x_q, std::max(k, 0), int8_t{0});
    return finite ? 0.0f : std::nanf("");
  }
  const float scale = absmax / 127.0f;
  const float inverse = 127.0f / absmax;
  for (int i = 0; i < k; ++i) {
    const float q = std::clamp(std::rint(x[i] * inverse), -127.0f, 127.0f);
    x_q[i] = static_cast<int8_t>(q);
  }
  return scale;
}

void QuantLinear::forward_reference(const float* x, int m, float* y, ThreadPool& pool,
                                    Epilogue epilogue) const {
  const QuantizedActivations act = quantize_activations(x, m, k_, group_, pool);
  const int groups = k_ / group_;
  // Columns split across threads: each thread streams its own weight rows once
  // and reuses each row for every token.
  pool.parallel_for(n_, [&](int64_t begin, int64_t end) {
    for (int64_t col = begin; col < end; ++col) {
      const uint8_t* w = &codes_[col * k_];
      const float* s = &scales_[col * groups];
      const float* b = &biases_[col * groups];
      for (int r = 0; r < m; ++r) {
        const int8_t* xq = &act.values[static_cast<size_t>(r) * k_];
        const int32_t* sums = &act.group_sums[static_cast<size_t>(r) * groups];
        float acc = 0.0f;
        for (int g = 0; g < groups; ++g) {
          int32_t dot = 0;
          for (int i = g * group_; i < (g + 1) * group_; ++i)
            dot += static_cast<int32_t>(xq[i]) * static_cast<int32_t>(w[i]);
          acc += s[g] * static_cast<float>(dot) + b[g] * static_cast<float>(sums[g]);
        }
        float out = act.scales[r] * acc + (bias_.empty() ? 0.0f : bias_[col]);
        if (epilogue == Epilogue::Gelu) out = ref::gelu_value(out);
        y[static_cast<size_t>(r) * n_ + col] = out;
      }
    }
  });
}

namespace ref {
namespace {

float quantize_row(const float* x, int k, int group, int8_t* x_q, float* group_sums, int64_t quad_stride) {
  std::vector<int8_t> row(static_cast<size_t>(k));
  const float scale = quantize_activation_row(x, k, row.data());
  for (int g = 0; g < k / group; ++g) {
    int32_t sum = 0;
    for (int i = g * group; i < (g + 1) * group; ++i) sum += row[i];
    group_sums[g] = static_cast<float>(sum);
  }
  for (int i = 0; i < k; ++i) x_q[i / 4 * quad_stride + i % 4] = row[i];
  return scale;
}

}  // namespace

// No packed micro-kernel: QuantLinear runs forward_reference for this row.
const QuantKernelTable kQuantTable = {Isa::Scalar, 0, quantize_row, nullptr, nullptr, 0};

}  // namespace ref
}  // namespace qp::kernels
