#include "models/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/json_read.h"
#include "io/safetensors.h"
#include "models/blocks.h"

namespace qp {

std::vector<float> pool_sequences(const std::vector<float>& hidden, int width, const EncoderBatch& batch,
                                  PoolingMode mode) {
  if (mode == PoolingMode::Cls) return first_token_rows(hidden, width, batch);
  const int s_count = batch.num_sequences();
  std::vector<float> pooled(static_cast<size_t>(s_count) * width);
  for (int s = 0; s < s_count; ++s) {
    float* out = &pooled[static_cast<size_t>(s) * width];
    std::fill(out, out + width, mode == PoolingMode::Max ? -std::numeric_limits<float>::infinity() : 0.0f);
    for (int t = batch.seq_offsets[s]; t < batch.seq_offsets[s + 1]; ++t) {
      const float* row = &hidden[static_cast<size_t>(t) * width];
      if (mode == PoolingMode::Max) {
        // NaN wins, as in torch.max: a broken token must not vanish from the result.
        for (int i = 0; i < width; ++i) out[i] = row[i] > out[i] || std::isnan(row[i]) ? row[i] : out[i];
      } else {
        for (int i = 0; i < width; ++i) out[i] += row[i];
      }
    }
    if (mode == PoolingMode::Max) continue;
    const float len = static_cast<float>(batch.length(s));
    const float divisor = mode == PoolingMode::MeanSqrtLen ? std::sqrt(len) : len;
    for (int i = 0; i < width; ++i) out[i] /= divisor;
  }
  return pooled;
}

void l2_normalize_rows(std::vector<float>& rows, int width) {
  for (size_t r = 0; r < rows.size() / width; ++r) {
    float* row = &rows[r * width];
    double sum = 0;
    for (int i = 0; i < width; ++i) sum += static_cast<double>(row[i]) * row[i];
    const float norm = std::max(static_cast<float>(std::sqrt(sum)), 1e-12f);
    for (int i = 0; i < width; ++i) row[i] /= norm;
  }
}

DenseModule::DenseModule(const DenseModuleConfig& config) : out_features_(config.out_features) {
  const std::string& act = config.activation;
  const bool identity = act.empty() || act.find("Identity") != std::string::npos;
  tanh_ = act.find("Tanh") != std::string::npos;
  if (!identity && !tanh_)
    fail((config.dir / "config.json").string(), ": Dense activation ", json_excerpt(act),
         " is not supported (Identity or Tanh)");
  const WeightStore weights = WeightStore::open_dir(config.dir);
  linear_ = load_linear(weights, "linear", config.out_features, config.in_features, config.bias);
}

std::vector<float> DenseModule::forward(const std::vector<float>& rows, ThreadPool& pool) const {
  const int m = static_cast<int>(rows.size() / linear_->k());
  std::vector<float> out(static_cast<size_t>(m) * out_features_);
  linear_->forward(rows.data(), m, out.data(), pool);
  if (tanh_)
    for (float& v : out) v = std::tanh(v);
  return out;
}

}  // namespace qp
