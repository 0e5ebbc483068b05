#include "models/rotary.h"

#include <cmath>

#include "core/error.h"

namespace qp {

RotaryEmbedding::RotaryEmbedding(double theta, int head_dim) : head_dim_(head_dim) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    fail("rotary position embeddings need an even head dimension, got ", head_dim);
  if (!(theta > 0.0) || !std::isfinite(theta)) fail("rotary position embeddings need theta > 0, got ", theta);
  for (int j = 0; j < head_dim / 2; ++j)
    inverse_frequency_.push_back(std::pow(theta, -2.0 * j / static_cast<double>(head_dim)));
}

namespace {

void rotate(float* x, const std::vector<float>& cos, const std::vector<float>& sin, int half) {
  for (int j = 0; j < half; ++j) {
    const float a = x[j], b = x[j + half];
    x[j] = a * cos[j] - b * sin[j];
    x[j + half] = b * cos[j] + a * sin[j];
  }
}

}  // namespace

void RotaryEmbedding::apply(const QkContext& context) const {
  if (context.head_dim != head_dim_)
    fail("rotary position embeddings built for head dimension ", head_dim_, " applied to ", context.head_dim);
  const int half = head_dim_ / 2;
  const EncoderBatch& batch = *context.batch;
  std::vector<float> cos(half), sin(half);
  for (int s = 0; s < batch.num_sequences(); ++s)
    for (int p = 0; p < batch.length(s); ++p) {
      for (int j = 0; j < half; ++j) {
        const double angle = p * inverse_frequency_[j];
        cos[j] = static_cast<float>(std::cos(angle));
        sin[j] = static_cast<float>(std::sin(angle));
      }
      const size_t row = static_cast<size_t>(batch.seq_offsets[s] + p) * context.ld;
      for (int h = 0; h < context.heads; ++h) {
        rotate(context.q + row + h * head_dim_, cos, sin, half);
        rotate(context.k + row + h * head_dim_, cos, sin, half);
      }
    }
}

}  // namespace qp
