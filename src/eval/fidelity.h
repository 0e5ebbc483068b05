// How close a quantized model's outputs are to its fp32 baseline's on the
// same inputs: per-example cosine, MSE, max |Δ|, non-finite values, label
// agreement, and per named intermediate (embeddings, each layer's attention
// and FFN outputs, head) on a few examples.
#pragma once

#include <string>
#include <vector>

#include "eval/evaluation.h"
#include "quantpipe/model.h"

namespace qp::eval {

// Compares two runs' outputs example by example (vectors of equal count;
// throws otherwise). cosine: per example vector, mean and min; an example
// whose quantized vector holds a NaN or Inf scores cosine 0 and stays out of
// mse / max_abs_diff, which are over all remaining elements (mse = mean of
// (a − b)²). nan_inf counts non-finite quantized values. label_agreement:
// the fraction of examples with equal predicted labels, set when both runs
// predict labels (predicted non-empty and not all -1).
Fidelity compare_outputs(const ModelOutputs& baseline, const ModelOutputs& quantized);

// What the per-layer pass runs: the classification head too, or pooling.
enum class LayerPass { Classify, Embed };

// Runs `inputs` (a few examples) through both models in one batch with a
// tensor sink attached (set_tensor_sink; detached again afterwards) and
// compares every named intermediate both produce with the same shape:
// cosine and relative MSE ‖a − b‖² / ‖a‖² with a = baseline, over the
// flattened values. Names in the baseline's order.
std::vector<LayerFidelity> compare_layers(Model& baseline, Model& quantized,
                                          const std::vector<TextInput>& inputs, LayerPass pass,
                                          int max_length);
// The same on inputs already tokenized (pre-tokenized dataset rows).
std::vector<LayerFidelity> compare_layers(Model& baseline, Model& quantized,
                                          const std::vector<Encoding>& encodings, LayerPass pass);

}  // namespace qp::eval
