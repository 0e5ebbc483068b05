#include "train/fake_quant.h"

#include "core/error.h"
#include "quant/quantize_ref.h"

namespace qp::train {

void fake_quantize(Parameter& parameter, const quant::QuantOptions& options) {
  if (!parameter.scheme) fail("[train] '", parameter.name, "' has no quantization scheme");
  if (parameter.shape.size() != 2)
    fail("[train] '", parameter.name, "' is not a matrix; it cannot be quantized");
  const int64_t n = parameter.shape[0], k = parameter.shape[1];
  const quant::QuantizedCodes codes =
      quant::quantize_codes_ref(parameter.name, parameter.value, n, k, *parameter.scheme, options);
  const int64_t groups = k / codes.group;
  parameter.quantized.resize(parameter.value.size());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t g = r * groups + c / codes.group;
      parameter.quantized[r * k + c] =
          codes.scales[g] * static_cast<float>(codes.codes[r * k + c]) + codes.biases[g];
    }
}

}  // namespace qp::train
