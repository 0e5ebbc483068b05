#include "eval/fidelity.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "eval/metrics.h"
#include "quantpipe/types.h"

namespace qp::eval {
namespace {

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

// Cosine in double; 1 for equal vectors (all-zero ones too).
double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return a == b ? 1.0 : cosine_similarity(a, b);
}

std::optional<double> agreement(const ModelOutputs& baseline, const ModelOutputs& quantized) {
  const auto has_labels = [](const std::vector<int>& p) {
    return !p.empty() && std::any_of(p.begin(), p.end(), [](int v) { return v >= 0; });
  };
  if (!has_labels(baseline.predicted) || !has_labels(quantized.predicted)) return std::nullopt;
  if (baseline.predicted.size() != quantized.predicted.size())
    fail("fidelity: ", baseline.predicted.size(), " baseline labels but ", quantized.predicted.size(),
         " quantized ones");
  size_t same = 0;
  for (size_t i = 0; i < baseline.predicted.size(); ++i)
    same += baseline.predicted[i] >= 0 && baseline.predicted[i] == quantized.predicted[i];
  return static_cast<double>(same) / static_cast<double>(baseline.predicted.size());
}

// Keeps every named intermediate, values of repeated names appended.
class CaptureSink final : public TensorSink {
 public:
  void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) override {
    auto [it, added] = index_.try_emplace(name, tensors_.size());
    if (added) tensors_.push_back({name, {}});
    std::vector<float>& values = tensors_[it->second].second;
    values.insert(values.end(), data, data + rows * cols);
  }
  const std::vector<std::pair<std::string, std::vector<float>>>& tensors() const { return tensors_; }
  const std::vector<float>* find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second].second;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::pair<std::string, std::vector<float>>> tensors_;
};

CaptureSink capture(Model& model, const std::vector<Encoding>& encodings, LayerPass pass) {
  CaptureSink sink;
  model.set_tensor_sink(&sink);
  try {
    const int batch = static_cast<int>(encodings.size());
    if (pass == LayerPass::Classify) {
      model.logits_for_encodings(encodings, batch);
    } else {
      model.embed_encodings(encodings, batch);
    }
  } catch (...) {
    model.set_tensor_sink(nullptr);
    throw;
  }
  model.set_tensor_sink(nullptr);
  return sink;
}

}  // namespace

Fidelity compare_outputs(const ModelOutputs& baseline, const ModelOutputs& quantized) {
  if (baseline.vectors.size() != quantized.vectors.size())
    fail("fidelity: ", baseline.vectors.size(), " baseline outputs but ", quantized.vectors.size(),
         " quantized ones");
  if (baseline.vectors.empty()) fail("fidelity: no outputs to compare");
  Fidelity f;
  f.min_cosine = 1;
  double cosine_sum = 0, squared_sum = 0;
  int64_t compared = 0;
  for (size_t i = 0; i < baseline.vectors.size(); ++i) {
    const std::vector<float>& a = baseline.vectors[i];
    const std::vector<float>& b = quantized.vectors[i];
    if (a.size() != b.size())
      fail("fidelity: example ", i + 1, " has ", a.size(), " baseline values but ", b.size(), " quantized");
    f.nan_inf += std::count_if(b.begin(), b.end(), [](float v) { return !std::isfinite(v); });
    double c = 0;
    if (all_finite(b)) {
      c = cosine(a, b);
      for (size_t j = 0; j < a.size(); ++j) {
        const double d = static_cast<double>(a[j]) - b[j];
        squared_sum += d * d;
        f.max_abs_diff = std::max(f.max_abs_diff, std::abs(d));
      }
      compared += static_cast<int64_t>(a.size());
    }
    cosine_sum += c;
    f.min_cosine = std::min(f.min_cosine, c);
  }
  f.mean_cosine = cosine_sum / static_cast<double>(baseline.vectors.size());
  f.mse = compared ? squared_sum / static_cast<double>(compared) : 0.0;
  f.label_agreement = agreement(baseline, quantized);
  return f;
}

namespace {

// Every intermediate both captures hold with the same size, in the baseline's order.
std::vector<LayerFidelity> compare_captures(const CaptureSink& a, const CaptureSink& b) {
  std::vector<LayerFidelity> layers;
  for (const auto& [name, values] : a.tensors()) {
    const std::vector<float>* other = b.find(name);
    if (!other || other->size() != values.size()) continue;
    double diff = 0, norm = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const double d = static_cast<double>(values[i]) - (*other)[i];
      diff += d * d;
      norm += static_cast<double>(values[i]) * values[i];
    }
    layers.push_back({name, cosine(values, *other), norm > 0 ? diff / norm : diff});
  }
  return layers;
}

}  // namespace

std::vector<LayerFidelity> compare_layers(Model& baseline, Model& quantized,
                                          const std::vector<TextInput>& inputs, LayerPass pass,
                                          int max_length) {
  if (inputs.empty()) return {};
  return compare_captures(capture(baseline, baseline.tokenize(inputs, max_length), pass),
                          capture(quantized, quantized.tokenize(inputs, max_length), pass));
}

std::vector<LayerFidelity> compare_layers(Model& baseline, Model& quantized,
                                          const std::vector<Encoding>& encodings, LayerPass pass) {
  if (encodings.empty()) return {};
  return compare_captures(capture(baseline, encodings, pass), capture(quantized, encodings, pass));
}

}  // namespace qp::eval
