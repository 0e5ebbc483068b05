// GPTQ on one weight matrix (see gptq.h). The linear algebra (Cholesky
// factorisations, the block updates) is Eigen's, in double precision.
#include "quant/gptq.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "quant/pack.h"

namespace qp::quant {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The upper Cholesky factor of (H + λI)⁻¹, in the column order `order`.
Matrix inverse_cholesky_upper(std::string_view name, std::span<const double> hessian, int64_t k,
                              const std::vector<int64_t>& order, double damping) {
  Matrix h(k, k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) h(i, j) = hessian[order[i] * k + order[j]];
  // An input that never fired (zero row and column) constrains nothing: a unit
  // diagonal keeps H invertible and that column's error from spreading.
  for (int64_t i = 0; i < k; ++i)
    if (h(i, i) == 0.0) h(i, i) = 1.0;
  const double lambda = damping * h.diagonal().mean();
  h.diagonal().array() += lambda;
  const Eigen::LLT<Matrix> factor(h);
  if (factor.info() != Eigen::Success)
    fail("[quant] tensor '", name, "': GPTQ: the calibration Hessian is not positive definite after damping ",
         damping, "; raise the damping or use more calibration samples");
  const Matrix inverse = factor.solve(Matrix::Identity(k, k));
  const Eigen::LLT<Matrix> inverse_factor(inverse);
  if (inverse_factor.info() != Eigen::Success)
    fail("[quant] tensor '", name, "': GPTQ: the inverse Hessian lost positive definiteness (damping ",
         damping, "); raise the damping");
  return inverse_factor.matrixU();
}

void check_hessian(std::string_view name, std::span<const double> hessian, int64_t k) {
  if (static_cast<int64_t>(hessian.size()) != k * k)
    fail("[quant] tensor '", name, "': GPTQ Hessian has ", hessian.size(), " values, expected ", k, "×", k);
  for (double v : hessian)
    if (!std::isfinite(v)) fail("[quant] tensor '", name, "': GPTQ Hessian holds a non-finite value");
}

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t k) : k_(k), h_(static_cast<size_t>(k * k), 0.0) {
  if (k <= 0) fail("[quant] HessianAccumulator: k must be positive, got ", k);
}

void HessianAccumulator::add(const float* x, int64_t rows) {
  if (rows <= 0) return;
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> block(x, rows, k_);
  if (!block.allFinite()) fail("[quant] calibration activations hold a non-finite value");
  // One batch's product in float (Eigen's fast GEMM; a batch is a few
  // thousand rows), summed over batches in double.
  const Eigen::MatrixXf product = block.transpose() * block;
  Eigen::Map<Matrix> h(h_.data(), k_, k_);
  h += product.cast<double>();
  rows_ += rows;
}

QuantizedCodes gptq_quantize_codes(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                                   std::span<const double> hessian, const QuantScheme& scheme,
                                   const GptqOptions& gptq, const QuantOptions& options) {
  // Round to nearest checks the input and gives the parameters fitted on the
  // original weights (per-channel, per-tensor, and act_order's static groups).
  QuantizedCodes out = quantize_codes_ref(name, w, n, k, scheme, options);
  check_hessian(name, hessian, k);
  if (gptq.block_size <= 0) fail("[quant] GPTQ block size must be positive, got ", gptq.block_size);
  if (!(gptq.damping >= 0.0)) fail("[quant] GPTQ damping must be ≥ 0, got ", gptq.damping);
  const WeightFormat& format = weight_format(scheme);
  const int64_t group = out.group, groups = k / group;
  const bool refit_groups = scheme.granularity == Granularity::PerGroup && !gptq.act_order;

  std::vector<int64_t> order(static_cast<size_t>(k));
  std::iota(order.begin(), order.end(), 0);
  if (gptq.act_order)
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return hessian[a * k + a] > hessian[b * k + b]; });
  const Matrix u = inverse_cholesky_upper(name, hessian, k, order, gptq.damping);

  Matrix wq(n, k);  // the weights being updated, in quantization order
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i) wq(r, i) = w[r * k + order[i]];

  // A group refitted at its first column must see every update before it, and
  // columns past the block get theirs only when the block ends: blocks are
  // whole groups, so no group straddles two (the lazy form then equals the
  // direct one; the block size only trades memory traffic).
  int64_t block = gptq.block_size;
  if (refit_groups) block = std::max<int64_t>(group, block / group * group);
  std::vector<float> group_values(static_cast<size_t>(group));
  for (int64_t i1 = 0; i1 < k; i1 += block) {
    const int64_t i2 = std::min<int64_t>(k, i1 + block), width = i2 - i1;
    Matrix errors(n, width);
    for (int64_t i = i1; i < i2; ++i) {
      const int64_t column = order[i], g = column / group;
      if (refit_groups && column % group == 0) {
        // Without act_order, i runs in column order: this group's columns are
        // i .. i + group − 1, updated by every column before them.
        for (int64_t r = 0; r < n; ++r) {
          for (int64_t c = 0; c < group; ++c) group_values[c] = static_cast<float>(wq(r, i + c));
          const GroupParams p = fit_params(format, group_values.data(), group, options);
          out.scales[r * groups + g] = p.scale;
          out.biases[r * groups + g] = p.bias;
        }
      }
      const double d = u(i, i);
      for (int64_t r = 0; r < n; ++r) {
        const float value = static_cast<float>(wq(r, i));
        const GroupParams p{out.scales[r * groups + g], out.biases[r * groups + g]};
        uint8_t& code = out.codes[r * k + column];
        format.encode(&value, 1, format.bits, p, options, &code);
        float dequantized = 0.0f;
        format.dequantize_row(&code, 1, 1, &p.scale, &p.bias, &dequantized);
        errors(r, i - i1) = (wq(r, i) - dequantized) / d;
      }
      // Spread this column's error over the rest of the block now.
      if (i + 1 < i2)
        wq.block(0, i + 1, n, i2 - i - 1).noalias() -= errors.col(i - i1) * u.block(i, i + 1, 1, i2 - i - 1);
    }
    // ... and over the columns after the block in one product.
    if (i2 < k) wq.rightCols(k - i2).noalias() -= errors * u.block(i1, i2, width, k - i2);
  }
  return out;
}

QuantizedTensor gptq_quantize(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                              std::span<const double> hessian, const QuantScheme& scheme,
                              const GptqOptions& gptq, const QuantOptions& options) {
  return pack_quantized(gptq_quantize_codes(name, w, n, k, hessian, scheme, gptq, options), n, k, scheme);
}

}  // namespace qp::quant
