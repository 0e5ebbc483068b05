// GPTQ (Frantar et al., 2022): error-compensating post-training quantization
// of one weight matrix W [n, k] (Hugging Face layout, y = x·Wᵀ) given the
// second moment of its inputs, H = Σ xᵀx over calibration rows.
//
// Columns (input features) are quantized one at a time; the rounding error of
// column j, divided by the j-th diagonal of the upper Cholesky factor U of
// H⁻¹, is spread over the columns not yet quantized through row j of U, which
// minimises ‖X·(W − Q)ᵀ‖² greedily. Updates run lazily in blocks of columns.
// The codes, scales and biases are those of the existing formats (format_table.h):
// the same fit and encode functions as round to nearest, so the result is
// stored, packed and run exactly like quantize_ref's.
//
// Group parameters: per-group schemes fit a group's scale and bias when its
// first column is reached, over the already-updated weights (as GPTQ does);
// with act_order, and for per-channel and per-tensor schemes, they are fitted
// up front from the original weights. With H = c·I (uncorrelated inputs) no
// error propagates and the result is round to nearest.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quant/quantize_ref.h"

namespace qp::quant {

struct GptqOptions {
  double damping = 0.01;   // λ = damping · mean(diag H) added to the diagonal
  int block_size = 128;    // columns per lazy-update block (whole groups when groups are refitted)
  bool act_order = false;  // quantize columns in order of decreasing diag(H)
};

// H = Σ xᵀx over activation rows of k features: each add() in float, the
// sum over calls in double.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t k);
  // Adds `rows` rows of k values (row-major); throws for non-finite inputs.
  void add(const float* x, int64_t rows);
  int64_t k() const { return k_; }
  int64_t rows() const { return rows_; }
  // [k][k], symmetric.
  std::span<const double> matrix() const { return h_; }

 private:
  int64_t k_;
  int64_t rows_ = 0;
  std::vector<double> h_;
};

// Throws qp::Error naming `name` for the cases quantize_codes_ref refuses, a
// Hessian that is not [k][k] or not finite, and one that stays not positive
// definite after damping (the message suggests a larger damping).
QuantizedCodes gptq_quantize_codes(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                                   std::span<const double> hessian, const QuantScheme& scheme,
                                   const GptqOptions& gptq = {}, const QuantOptions& options = {});

// gptq_quantize_codes + pack_quantized.
QuantizedTensor gptq_quantize(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                              std::span<const double> hessian, const QuantScheme& scheme,
                              const GptqOptions& gptq = {}, const QuantOptions& options = {});

}  // namespace qp::quant
