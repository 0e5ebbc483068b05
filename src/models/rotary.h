// Rotary position embeddings (RoFormer, GPT-NeoX layout as Hugging Face's
// rotate_half): each head's first and second halves form the pairs
// (x[j], x[j + d/2]) rotated by position · theta^(-2j/d). Positions count
// from 0 in each sequence of the packed batch. Applied to queries and keys
// after the projection, as a QkTransform of the layer.
#pragma once

#include <vector>

#include "models/layer_parts.h"

namespace qp {

class RotaryEmbedding final : public QkTransform {
 public:
  RotaryEmbedding(double theta, int head_dim);
  void apply(const QkContext& context) const override;

 private:
  int head_dim_;
  std::vector<double> inverse_frequency_;  // [head_dim / 2]
};

}  // namespace qp
