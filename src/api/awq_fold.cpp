#include "api/awq_fold.h"

#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"

namespace qp {
namespace {

struct FoldRule {
  TensorRole scaled;    // the weight whose input channels are scaled by s
  TensorRole producer;  // the linear whose output channels are divided by s
  const char* why;
};

constexpr FoldRule kFolds[] = {
    {TensorRole::AttnOut, TensorRole::AttnV,
     "the context softmax(QKᵀ)·V has V's output channels: dividing V's row c and bias c by s_c divides the "
     "attention output's input channel c by s_c"},
};

const quant::PlannedTensor* find_weight(const std::vector<quant::PlannedTensor>& plan, TensorRole role,
                                        int layer) {
  for (const quant::PlannedTensor& t : plan)
    if (t.role == role && t.layer == layer && !t.is_bias && t.shape.size() == 2) return &t;
  return nullptr;
}

}  // namespace

AwqFoldResult fold_awq_scales(
    const std::filesystem::path& source, const std::vector<quant::PlannedTensor>& plan,
    const std::map<std::string, std::shared_ptr<const quant::HessianAccumulator>>& hessians,
    const quant::QuantOptions& quant, const quant::AwqOptions& awq) {
  const WeightStore weights = WeightStore::open_dir(source);
  AwqFoldResult result;
  nlohmann::json folds = nlohmann::json::array();
  for (const FoldRule& rule : kFolds) {
    for (const quant::PlannedTensor& t : plan) {
      if (t.role != rule.scaled || t.action != quant::TensorAction::Quantize || t.is_bias) continue;
      const auto h = hessians.find(t.name);
      const quant::PlannedTensor* producer = find_weight(plan, rule.producer, t.layer);
      if (h == hessians.end() || !producer || producer->shape[0] != t.shape[1]) continue;
      const int64_t n = t.shape[0], k = t.shape[1];
      std::vector<float> w = to_f32(weights.require(t.name));
      const quant::AwqResult found =
          quant::awq_search(t.name, w, n, k, h->second->matrix(), h->second->rows(), *t.scheme, awq, quant);
      folds.push_back({{"weight", t.name},
                       {"folded_into", producer->module_path()},
                       {"alpha", found.alpha},
                       {"output_error", found.error},
                       {"rtn_output_error", found.rtn_error}});
      if (found.alpha == 0) continue;  // round to nearest won: nothing to change
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < k; ++j)
          w[static_cast<size_t>(r * k + j)] *= found.scales[static_cast<size_t>(j)];
      std::vector<float> v = to_f32(weights.require(producer->name));
      const int64_t v_in = producer->shape[1];
      for (int64_t c = 0; c < k; ++c)
        for (int64_t j = 0; j < v_in; ++j)
          v[static_cast<size_t>(c * v_in + j)] /= found.scales[static_cast<size_t>(c)];
      result.replaced[producer->name] = std::move(v);
      const std::string bias = producer->module_path() + ".bias";
      if (weights.find(bias)) {
        std::vector<float> b = to_f32(weights.require(bias));
        for (int64_t c = 0; c < k; ++c) b[static_cast<size_t>(c)] /= found.scales[static_cast<size_t>(c)];
        result.replaced[bias] = std::move(b);
      }
      result.replaced[t.name] = std::move(w);
      result.scaled.insert(t.name);
    }
  }
  result.record = {{"grid", awq.grid},
                   {"channel_magnitude", "sqrt(diag(H) / rows)"},
                   {"folds", std::move(folds)},
                   {"rule", kFolds[0].why}};
  return result;
}

}  // namespace qp
