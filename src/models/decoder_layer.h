// A post-LN Transformer decoder layer for encoder-decoder models (BART):
//   h = norm(h + causal self-attention(h))
//   h = norm(h + attention(h, encoder output))
//   h = norm(h + ffn(h))
// The self-attention and feed-forward parts are a TransformerLayer's; the
// attention over the encoder output is a CrossAttentionPart. Only what a
// whole-sequence forward pass needs (classification, embeddings): no cache
// of past keys and values, no generation.
#pragma once

#include <vector>

#include "models/cross_attention.h"
#include "models/layer_parts.h"

namespace qp {

// Masks the scores of keys after the query (j > i) with -inf: each position
// sees only itself and what comes before it.
class CausalMask final : public ScoreHook {
 public:
  void add_bias(const ScoreContext& context, int seq, int head, int first_query, int query_count,
                float* scores) const override;
};

struct DecoderLayer {
  TransformerLayer self;  // self-attention, its norm, the FFN and its norm
  CrossAttentionPart cross;

  // Loads table layer `index` (self-attention and FFN roles as
  // TransformerLayer::load, cross_attn_* roles). Post-LN only.
  static DecoderLayer load(const WeightStore& weights, const TensorTable& table, int index,
                           const LayerShape& shape);

  // `memory_kv`: cross.project_memory of the encoder output, same sequence
  // boundaries as `batch`. `index` names the intermediates "layer.<index>.attn_*",
  // "cross_attn_context", "cross_attn_norm", "ffn_*", "out" go to the sink.
  void forward(const LayerShape& shape, const EncoderBatch& batch, const std::vector<float>& memory_kv,
               std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink, int index) const;
};

// Runs the layers in order over the encoder output `memory` (sink names "layer.<i>.…").
void run_decoder_layers(const std::vector<DecoderLayer>& layers, const LayerShape& shape,
                        const EncoderBatch& batch, const std::vector<float>& memory,
                        std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink);

}  // namespace qp
