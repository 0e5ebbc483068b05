// Reference quantization of a whole tensor (see quantize_ref.h).
#include "quant/quantize_ref.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/pack.h"

namespace qp::quant {
namespace {

void check_input(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                 const QuantScheme& scheme) {
  validate_scheme(scheme);
  if (n <= 0 || k <= 0 || static_cast<int64_t>(w.size()) != n * k)
    fail("[quant] tensor '", name, "': ", w.size(), " values do not make a [", n, ", ", k, "] matrix");
  if (!scheme_fits(scheme, k))
    fail("[quant] tensor '", name, "': scheme '", format_scheme(scheme), "' does not fit rows of ", k,
         " weights (K must be divisible by ",
         scheme.granularity == Granularity::PerGroup ? scheme.group_size : 32, ")");
  for (int64_t i = 0; i < n * k; ++i)
    if (!std::isfinite(w[i]))
      fail("[quant] tensor '", name, "': weight [", i / k, ", ", i % k, "] is ", w[i],
           "; refusing to quantize non-finite weights");
}

}  // namespace

QuantizedCodes quantize_codes_ref(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                                  const QuantScheme& scheme, const QuantOptions& options) {
  check_input(name, w, n, k, scheme);
  const WeightFormat& format = weight_format(scheme);
  QuantizedCodes out;
  out.group = storage_group(scheme, k);
  const int64_t groups = k / out.group;
  out.codes.resize(n * k);
  out.scales.resize(n * groups);
  out.biases.resize(n * groups);
  if (scheme.granularity == Granularity::PerGroup) {
    for (int64_t r = 0; r < n; ++r)
      quantize_row(format, &w[r * k], k, out.group, options, &out.codes[r * k], &out.scales[r * groups],
                   &out.biases[r * groups]);
    return out;
  }
  // Per-tensor: one fit over everything; per-channel: one fit per row. Either way
  // the params are then repeated over the row's storage groups.
  const bool per_tensor = scheme.granularity == Granularity::PerTensor;
  GroupParams params;
  if (per_tensor) params = fit_params(format, w.data(), n * k, options);
  for (int64_t r = 0; r < n; ++r) {
    if (!per_tensor) params = fit_params(format, &w[r * k], k, options);
    format.encode(&w[r * k], k, format.bits, params, options, &out.codes[r * k]);
    std::fill_n(&out.scales[r * groups], groups, params.scale);
    std::fill_n(&out.biases[r * groups], groups, params.bias);
  }
  return out;
}

QuantizedTensor quantize_ref(std::string_view name, std::span<const float> w, int64_t n, int64_t k,
                             const QuantScheme& scheme, const QuantOptions& options) {
  return pack_quantized(quantize_codes_ref(name, w, n, k, scheme, options), n, k, scheme);
}

QuantizedTensor pack_quantized(QuantizedCodes codes, int64_t n, int64_t k, const QuantScheme& scheme) {
  QuantizedTensor out;
  out.scheme = scheme;
  out.n = n;
  out.k = k;
  out.bits = scheme.bits;
  out.group = codes.group;
  out.packed = pack_codes(codes.codes, out.bits);
  out.scales = std::move(codes.scales);
  out.biases = std::move(codes.biases);
  return out;
}

std::vector<float> QuantizedTensor::dequantize() const {
  return dequantize_ref(packed, scales, biases, n, k, group, bits);
}

}  // namespace qp::quant
