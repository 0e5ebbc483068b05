// Activation-aware scaling (AWQ, Lin et al. 2023): before a weight W [n × k]
// is rounded, its input channels are scaled by s (W·diag(s)), and the
// inverse scale is folded into whatever produces the input, so the model
// computes the same function in fp32. Channels that carry large activations
// get s > 1: their weights take more of the code range and lose less to
// rounding, where their error costs most. The exponent α of s = m^α (m: the
// channel's activation magnitude) is searched on a grid for the least output
// error tr(ΔW·H·ΔWᵀ), ΔW = Q(W·diag(s))·diag(s)⁻¹ − W, with H the calibration
// Hessian Σ xᵀx of the input (as GPTQ uses it). α = 0 is round to nearest
// itself, so the search never does worse than it on the calibration data.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "quant/format_table.h"
#include "quant/scheme.h"

namespace qp::quant {

struct AwqOptions {
  int grid = 20;                // α ∈ {0, 1/grid, …, (grid−1)/grid}
  std::optional<double> alpha;  // this α instead of the search (tests, experiments)
};

struct AwqResult {
  std::vector<float> scales;  // s, per input channel [k]; all 1 when α = 0 won
  double alpha = 0;
  double error = 0;      // tr(ΔW·H·ΔWᵀ) with s
  double rtn_error = 0;  // the same for round to nearest (α = 0)
};

// Output error tr(ΔW·H·ΔWᵀ) of replacing w by w_hat, both [n × k], H [k × k].
double output_error(std::span<const float> w, std::span<const float> w_hat, int64_t n, int64_t k,
                    std::span<const double> hessian);

// Searches α. Channel magnitudes are sqrt(diag(H) / rows) (the RMS of each
// input channel over the calibration rows). Throws qp::Error naming `name`
// for a Hessian that is not [k × k] or not finite, and what quantize_ref
// throws.
AwqResult awq_search(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                     std::span<const double> hessian, int64_t rows, const QuantScheme& scheme,
                     const AwqOptions& awq = {}, const QuantOptions& options = {});

}  // namespace qp::quant
