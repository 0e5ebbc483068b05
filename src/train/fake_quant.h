// Fake quantization for quantization-aware training: a parameter's value
// quantized with its scheme by the same reference quantizer `convert` uses
// (quant/quantize_ref.h) and dequantized again, so the forward multiplies
// with exactly the weights the converted model will hold.
#pragma once

#include "quant/format_table.h"
#include "train/parameters.h"

namespace qp::train {

// Fills parameter.quantized from parameter.value (2-D [n × k]; scheme set).
void fake_quantize(Parameter& parameter, const quant::QuantOptions& options);

}  // namespace qp::train
