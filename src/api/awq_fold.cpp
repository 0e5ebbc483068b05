#include "api/awq_fold.h"

#include "core/error.h"
#include "core/log.h"
#include "io/model_dir.h"
#include "io/safetensors.h"

namespace qp {
namespace {

// How the inverse scale is folded: into a linear's output rows (and bias), or
// into a norm's gain (and shift): y = γ⊙n(x) + β, so y/s = (γ/s)⊙n(x) + β/s.
enum class FoldInto { LinearRows, NormGain };

struct FoldRule {
  TensorRole scaled;    // the weight whose input channels are scaled by s
  TensorRole producer;  // what produces that input, divided by s per channel
  FoldInto into;
  bool pre_norm_only;  // exact only where the norm's output feeds nothing but this weight
  const char* why;
};

constexpr FoldRule kFolds[] = {
    {TensorRole::AttnOut, TensorRole::AttnV, FoldInto::LinearRows, false,
     "attention output: the context softmax(QKᵀ)·V has V's output channels, so V's row c and bias c are "
     "divided by s_c"},
    {TensorRole::AttnQ, TensorRole::AttnNorm, FoldInto::NormGain, true,
     "query/key/value of a pre-norm layer: the attention norm's output feeds only them"},
    {TensorRole::FfnUp, TensorRole::FfnNorm, FoldInto::NormGain, true,
     "feed-forward input of a pre-norm layer: the feed-forward norm's output feeds only it"},
};

// Architectures whose layers normalise before attention and feed-forward
// (the residual stream bypasses the norms), so a norm fold is exact. Post-norm
// encoders (BERT, RoBERTa, DeBERTa, ...) feed the norm's output to the
// residual too: no norm fold there.
constexpr const char* kPreNormArchitectures[] = {"modernbert"};

bool pre_norm(const std::string& model_type) {
  for (const char* a : kPreNormArchitectures)
    if (model_type == a) return true;
  return false;
}

// The producer's tensor: a 2-D weight for a linear, the 1-D gain for a norm.
const quant::PlannedTensor* find_producer(const std::vector<quant::PlannedTensor>& plan, const FoldRule& rule,
                                          int layer) {
  const size_t rank = rule.into == FoldInto::LinearRows ? 2 : 1;
  for (const quant::PlannedTensor& t : plan)
    if (t.role == rule.producer && t.layer == layer && !t.is_bias && t.shape.size() == rank) return &t;
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
  const bool pre = pre_norm(read_model_dir(source).model_type);
  for (const FoldRule& rule : kFolds) {
    if (rule.pre_norm_only && !pre) continue;
    for (const quant::PlannedTensor& t : plan) {
      if (t.role != rule.scaled || t.action != quant::TensorAction::Quantize || t.is_bias) continue;
      const auto h = hessians.find(t.name);
      const quant::PlannedTensor* producer = find_producer(plan, rule, t.layer);
      const int64_t n = t.shape[0], k = t.shape[1];
      if (h == hessians.end() || !producer || producer->shape[0] != k) continue;
      std::vector<float> w = to_f32(weights.require(t.name));
      const quant::AwqResult found =
          quant::awq_search(t.name, w, n, k, h->second->matrix(), h->second->rows(), *t.scheme, awq, quant);
      folds.push_back({{"weight", t.name},
                       {"folded_into", producer->name},
                       {"rule", rule.why},
                       {"alpha", found.alpha},
                       {"output_error", found.error},
                       {"rtn_output_error", found.rtn_error}});
      if (found.alpha == 0) continue;  // round to nearest won: nothing to change
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < k; ++j)
          w[static_cast<size_t>(r * k + j)] *= found.scales[static_cast<size_t>(j)];
      // The producer's output channel c (a row of a linear, an element of a
      // norm's gain) and its bias / shift c, divided by s_c.
      std::vector<float> p = to_f32(weights.require(producer->name));
      const int64_t width = producer->shape.size() == 2 ? producer->shape[1] : 1;
      for (int64_t c = 0; c < k; ++c)
        for (int64_t j = 0; j < width; ++j)
          p[static_cast<size_t>(c * width + j)] /= found.scales[static_cast<size_t>(c)];
      result.replaced[producer->name] = std::move(p);
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
  result.record = {
      {"grid", awq.grid}, {"channel_magnitude", "sqrt(diag(H) / rows)"}, {"folds", std::move(folds)}};
  return result;
}

}  // namespace qp
