// AWQ where the inverse scale folds exactly into the model: a table of
// (scaled weight's role, producer's role) pairs for which dividing the
// producer's output channel c by s_c divides the scaled weight's input
// channel c by s_c and changes nothing else:
// - the attention output ← the value projection, in every architecture with
//   a separate one (the context softmax(QKᵀ)·V has V's output channels);
// - query/key/value ← the attention norm and the feed-forward input ← the
//   feed-forward norm, in pre-norm architectures (ModernBERT), where the
//   norms' outputs feed nothing else.
// Post-norm encoders (BERT, RoBERTa, MiniLM, ...) feed the norm's output to
// the residual as well and GELU is not linear, so their other linears are
// rounded to nearest.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "quant/awq.h"
#include "quant/convert.h"

namespace qp {

struct AwqFoldResult {
  std::map<std::string, std::vector<float>> replaced;  // ConvertOptions::replaced_values
  std::set<std::string> scaled;                        // ConvertOptions::awq_scaled
  nlohmann::json record;                               // plan.awq
};

// Searches the scales of every foldable quantized weight that has a
// calibration Hessian and folds them. Throws what reading the weights throws.
AwqFoldResult fold_awq_scales(
    const std::filesystem::path& source, const std::vector<quant::PlannedTensor>& plan,
    const std::map<std::string, std::shared_ptr<const quant::HessianAccumulator>>& hessians,
    const quant::QuantOptions& quant, const quant::AwqOptions& awq = {});

}  // namespace qp
