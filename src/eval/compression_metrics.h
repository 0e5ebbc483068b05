// The seed pipeline's compression metrics (its BitNet phase logged 19 of
// them), for one evaluated quantization, from the comparison entry the
// pipeline stores (with the conversion's quantpipe.json under "conversion"
// and, when the conversion was fine-tuned, the entry's values before
// fine-tuning under "before_finetune"):
//
//   before compression (3)  size_mb, metric, parameters
//   compression (7)         method, bits, sparsity, ratio, quantized_fraction,
//                           linear_tensors_kept, seconds
//   after compression (5)   size_mb, metric, drop_points, cosine, mse
//   fine-tuning (4)         epochs, final_loss, metric_after, recovery
//                           (null when the conversion was not fine-tuned)
//   summary                 one line
//
// "metric" is the primary metric (accuracy, or Spearman); after compression
// means as converted, before any fine-tuning; recovery is the share of the
// drop fine-tuning won back. A value the entry does not hold is null.
#pragma once

#include <nlohmann/json.hpp>

namespace qp::eval {

nlohmann::json compression_metrics(const nlohmann::json& entry);

// The number of metrics compression_metrics() reports (19).
int compression_metric_count();

}  // namespace qp::eval
