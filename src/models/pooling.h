// Sentence-transformers heads that follow the encoder: pooling over each
// sequence's tokens, optional Dense modules, and L2 normalisation.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "io/model_dir.h"
#include "kernels/kernels.h"
#include "models/encoder.h"
#include "models/weight_loader.h"

namespace qp {

// The YAML / sentence-transformers spelling of each pooling mode (CLI
// --pooling, serve's /info).
inline constexpr std::pair<const char*, PoolingMode> kPoolingModeNames[] = {
    {"cls", PoolingMode::Cls},
    {"mean", PoolingMode::Mean},
    {"max", PoolingMode::Max},
    {"mean_sqrt_len", PoolingMode::MeanSqrtLen}};

inline const char* pooling_mode_name(PoolingMode mode) {
  for (const auto& [name, m] : kPoolingModeNames)
    if (m == mode) return name;
  return "mean";
}

// [S × width] from hidden [T × width] of the packed batch.
std::vector<float> pool_sequences(const std::vector<float>& hidden, int width, const EncoderBatch& batch,
                                  PoolingMode mode);

// x / max(‖x‖₂, 1e-12) per row, as torch.nn.functional.normalize.
void l2_normalize_rows(std::vector<float>& rows, int width);

// A sentence-transformers Dense module (2_Dense/): act(W·x + b).
class DenseModule {
 public:
  explicit DenseModule(const DenseModuleConfig& config);
  int out_features() const { return out_features_; }
  std::vector<float> forward(const std::vector<float>& rows, ThreadPool& pool) const;

 private:
  LinearPtr linear_;
  int out_features_ = 0;
  bool tanh_ = false;
};

}  // namespace qp
