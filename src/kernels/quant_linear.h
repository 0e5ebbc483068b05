// A Linear layer whose weight stays quantized in memory: MLX affine codes
// (w = scale·q + bias per (row, group), see src/quant/pack.h) unpacked once to one
// byte per weight, never expanded to floats.
//
// forward() quantizes each activation row to int8 (per token: a = absmax/127,
// x_q = rint(x/a)) and accumulates in int32 per group:
//   y[n] = Σ_g Σ_{k∈g} (a·x_q[k])·(s_g·q[n][k] + b_g)
//        = a·Σ_g (s_g·Σ_{k∈g} x_q[k]·q[n][k] + b_g·Σ_{k∈g} x_q[k])
// The group sums of x_q do not depend on n, so they are computed once per row.
// This file's implementation (ref_quant_gemm.cpp) is the scalar reference; SIMD
// variants come later and are tested against it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace qp::kernels {

class QuantLinear final : public LinearLayer {
 public:
  // packed: [n, k·bits/32] MLX words; scales, biases: [n, k/group]; bias: [n] or
  // null. Copies what it needs. Throws qp::Error for unsupported bits or shapes.
  QuantLinear(const uint32_t* packed, const float* scales, const float* biases, int n, int k, int bits,
              int group, const float* bias);

  int n() const override { return n_; }
  int k() const override { return k_; }
  std::string format() const override;
  int bits() const { return bits_; }
  int group() const { return group_; }
  // Bytes held for the weight: codes + scales + biases (+ layer bias).
  int64_t weight_bytes() const;

  // y[m][n] = epilogue(x[m][k]·Wᵀ + b[n]), as LinearF32::forward.
  void forward(const float* x, int m, float* y, ThreadPool& pool,
               Epilogue epilogue = Epilogue::None) const override;

 private:
  int n_ = 0;
  int k_ = 0;
  int bits_ = 0;
  int group_ = 0;
  std::vector<uint8_t> codes_;  // [n, k]
  std::vector<float> scales_;   // [n, k/group]
  std::vector<float> biases_;   // [n, k/group]
  std::vector<float> bias_;     // [n] or empty
};

// Per-token int8 activation quantization (exposed for tests and SIMD variants):
// returns a = absmax/127 (0 for an all-zero row) and writes x_q = rint(x/a).
float quantize_activation_row(const float* x, int k, int8_t* x_q);

}  // namespace qp::kernels
