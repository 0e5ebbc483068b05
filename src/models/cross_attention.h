// Attention of one packed batch over another with the same sequence
// boundaries: queries from a decoder's hidden states, keys and values from
// its encoder's output (the "memory"). The memory's keys and values are
// projected once per sequence and layer (project_memory) and read by every
// query row of that sequence.
#pragma once

#include <string>
#include <vector>

#include "models/layer_parts.h"

namespace qp {

struct CrossAttentionPart {
  LinearPtr q;    // [H × H]
  LinearPtr kv;   // [2H × H], key and value side by side
  LinearPtr out;  // [H × H]
  LayerNormParams norm;

  // Loads table layer `index` by role: cross_attn_q/k/v/out, cross_attn_norm.
  static CrossAttentionPart load(const WeightStore& weights, const TensorTable& table, int index,
                                 const LayerShape& shape);

  // The memory's keys and values, [t × 2H].
  std::vector<float> project_memory(const float* memory, int t, ThreadPool& pool) const;

  // out = out_proj(Attn(q(x), keys / values of memory_kv)), [T × H]; the
  // query and memory rows of sequence s are batch.seq_offsets[s]..[s+1].
  // Intermediates "<name>cross_attn_context" go to the sink.
  void forward(const LayerShape& shape, const EncoderBatch& batch, const float* x,
               const std::vector<float>& memory_kv, float* out, ThreadPool& pool, TensorSink* sink,
               const std::string& name) const;
};

// How an architecture names a decoder layer's cross-attention modules,
// relative to the layer (LayerModuleNames::layer_path + index + ".").
struct CrossAttentionNames {
  std::string q, k, v, out, norm;
};

// Declares the cross-attention modules of checkpoint layers 0..count-1 as
// table layers first_index.. (all with biases).
void declare_cross_attention(TensorTable& table, const std::string& prefix, const std::string& layer_path,
                             const CrossAttentionNames& names, int count, const LayerShape& shape,
                             int first_index);

}  // namespace qp
