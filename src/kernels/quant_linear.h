// A Linear layer whose weight stays quantized in memory: affine codes
// (w = scale·q + bias per (row, group)), never expanded to floats. It takes the
// codes one per byte; reading them out of a file's packing (MLX's words) is
// the loader's job (models/weight_loader.cpp).
//
// forward() quantizes each activation row to int8 (per token: a = absmax/127,
// x_q = rint(x/a)) and accumulates in int32 per group:
//   y[n] = Σ_g Σ_{k∈g} (a·x_q[k])·(s_g·q[n][k] + b_g)
//        = a·Σ_g (s_g·Σ_{k∈g} x_q[k]·q[n][k] + b_g·Σ_{k∈g} x_q[k])
// The group sums of x_q do not depend on n, so they are computed once per row.
// ref_quant_gemm.cpp is the scalar reference (the oracle); quant_linear.cpp
// picks a row of the quantized dispatch table (quant_dispatch.h) when the
// layer is built and, for the AVX2 / AVX-512 rows, repacks the codes once into
// their panel layout instead of keeping one byte per code.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace qp::kernels {

struct QuantKernelTable;

class QuantLinear final : public LinearLayer {
 public:
  // codes: [n, k], one code (0 .. 2^bits - 1) per byte; scales, biases:
  // [n, k/group]; bias: [n] or null. Copies what it needs. Throws qp::Error
  // for unsupported bits or shapes.
  QuantLinear(const uint8_t* codes, const float* scales, const float* biases, int n, int k, int bits,
              int group, const float* bias);

  int n() const override { return n_; }
  int k() const override { return k_; }
  std::string format() const override;
  int bits() const { return bits_; }
  // The ISA whose kernel forward() runs (fixed at construction).
  Isa isa() const;
  int group() const { return group_; }
  // The group the packed kernel accumulates over: group(), or k when every
  // row's groups share their scale and bias (see kernel_group_).
  int kernel_group() const { return kernel_group_; }
  // Bytes held for the weight: codes (one per code for the scalar path, packed
  // for the SIMD ones) + scales + biases (+ layer bias).
  int64_t weight_bytes() const;

  // y[m][n] = epilogue(x[m][k]·Wᵀ + b[n]), as LinearF32::forward.
  void forward(const float* x, int m, float* y, ThreadPool& pool,
               Epilogue epilogue = Epilogue::None) const override;

 private:
  struct FreeBytes {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  void forward_reference(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const;
  void forward_packed(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const;

  const QuantKernelTable* table_ = nullptr;  // null: scalar reference
  int n_ = 0;
  int k_ = 0;
  int bits_ = 0;
  int group_ = 0;
  // The group the packed kernel accumulates over: group_, or all of k when
  // every row has one scale and bias for all its groups (per-channel formats
  // stored with groups), so the kernel converts and scales once a row instead
  // of once a group.
  int kernel_group_ = 0;
  int64_t code_bytes_ = 0;
  // Scalar path: codes_ [n, k], scales_/biases_ [n, k/group], bias_ [n] or
  // empty. Packed path: codes_ in the panel layout (64-byte aligned),
  // scales_/biases_ [panel][k/kernel_group][32], bias_ padded to whole panels or empty.
  std::unique_ptr<uint8_t[], FreeBytes> codes_;
  std::vector<float> scales_;
  std::vector<float> biases_;
  std::vector<float> bias_;
};

// Per-token int8 activation quantization (exposed for tests and SIMD variants):
// returns a = absmax/127 (0 for an all-zero row) and writes x_q = rint(x/a).
float quantize_activation_row(const float* x, int k, int8_t* x_q);

}  // namespace qp::kernels
