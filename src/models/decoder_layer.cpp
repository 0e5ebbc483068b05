#include "models/decoder_layer.h"

#include <limits>

#include "core/error.h"

namespace qp {

void CausalMask::add_bias(const ScoreContext& context, int seq, int, int first_query, int query_count,
                          float* scores) const {
  const int len = context.batch->length(seq);
  for (int r = 0; r < query_count; ++r)
    for (int j = first_query + r + 1; j < len; ++j)
      scores[static_cast<size_t>(r) * len + j] = -std::numeric_limits<float>::infinity();
}

DecoderLayer DecoderLayer::load(const WeightStore& weights, const TensorTable& table, int index,
                                const LayerShape& shape) {
  if (shape.placement != NormPlacement::Post) fail("internal: decoder layers are post-LN only");
  return {TransformerLayer::load(weights, table, index, shape),
          CrossAttentionPart::load(weights, table, index, shape)};
}

void DecoderLayer::forward(const LayerShape& shape, const EncoderBatch& batch,
                           const std::vector<float>& memory_kv, std::vector<float>& hidden, ThreadPool& pool,
                           TensorSink* sink, int index) const {
  static const CausalMask causal;
  const int t = batch.total_tokens(), h = shape.hidden;
  const std::string name = "layer." + std::to_string(index) + ".";
  const auto residual_norm = [&](const LayerNormParams& norm, const std::vector<float>& projected) {
    kernels::add_layer_norm(projected.data(), hidden.data(), hidden.data(), t, h, norm.gamma.data(),
                            norm.beta.data(), norm.eps, pool);
  };
  std::vector<float> projected(static_cast<size_t>(t) * h);
  self_attention(self.attention, shape, batch, hidden.data(), projected.data(), pool, sink, name, index,
                 &causal);
  emit(sink, name + "attn_out", projected, h);
  residual_norm(self.attn_norm, projected);
  emit(sink, name + "attn_norm", hidden, h);
  cross.forward(shape, batch, hidden.data(), memory_kv, projected.data(), pool, sink, name);
  residual_norm(cross.norm, projected);
  emit(sink, name + "cross_attn_norm", hidden, h);
  feed_forward(self.ffn, shape, hidden.data(), t, projected.data(), pool, sink, name);
  residual_norm(self.ffn_norm, projected);
  emit(sink, name + "out", hidden, h);
}

void run_decoder_layers(const std::vector<DecoderLayer>& layers, const LayerShape& shape,
                        const EncoderBatch& batch, const std::vector<float>& memory,
                        std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::vector<float> memory_kv =
        layers[i].cross.project_memory(memory.data(), batch.total_tokens(), pool);
    layers[i].forward(shape, batch, memory_kv, hidden, pool, sink, static_cast<int>(i));
  }
}

}  // namespace qp
