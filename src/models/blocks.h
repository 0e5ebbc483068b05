// Building blocks the architectures share: weight loading helpers, token
// embeddings and the post-LayerNorm transformer layer (BERT, RoBERTa,
// DistilBERT all use it; they differ only in tensor names, embeddings and heads).
#pragma once

#include <string>
#include <vector>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "models/encoder.h"
#include "models/weight_loader.h"

namespace qp {

struct LayerNormParams {
  std::vector<float> gamma;
  std::vector<float> beta;
  float eps = 1e-12f;
};

// <prefix>.weight and <prefix>.bias of width `hidden`.
LayerNormParams load_layer_norm(const WeightStore& weights, const std::string& prefix, int hidden, float eps);

struct EmbeddingWeights {
  EmbeddingTable word;        // [vocab × hidden]
  EmbeddingTable position;    // [max_positions × hidden]
  EmbeddingTable token_type;  // [type_vocab × hidden]; empty when the model has none
  LayerNormParams norm;
  int hidden = 0;
  int vocab = 0;
  int max_positions = 0;
  int type_vocab = 0;
  int position_offset = 0;  // first position id (RoBERTa: padding_idx + 1)
};

// word + position (+ token type) embeddings, then LayerNorm: [T × hidden].
std::vector<float> embed_tokens(const EmbeddingWeights& weights, const EncoderBatch& batch, ThreadPool& pool,
                                TensorSink* sink);

// Tensor names of one post-LN layer, e.g. for BERT layer 0
// "bert.encoder.layer.0.attention.self.query".
struct PostLnLayerNames {
  std::string query, key, value, attn_out, attn_norm, ffn_up, ffn_down, ffn_norm;
};

struct PostLnLayerWeights {
  LinearPtr qkv;       // [3H × H]
  LinearPtr attn_out;  // [H × H]
  LayerNormParams attn_norm;
  LinearPtr ffn_up;    // [I × H], GELU fused
  LinearPtr ffn_down;  // [H × I]
  LayerNormParams ffn_norm;
};

struct PostLnShape {
  int hidden = 0;
  int heads = 0;
  int intermediate = 0;
  float eps = 1e-12f;
};

PostLnLayerWeights load_post_ln_layer(const WeightStore& weights, const PostLnLayerNames& names,
                                      const PostLnShape& shape);

// hidden = ffn_norm(h1 + FFN(h1)) with h1 = attn_norm(hidden + Attn(hidden)).
void run_post_ln_layer(const PostLnLayerWeights& layer, const PostLnShape& shape, const EncoderBatch& batch,
                       std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink, int layer_index);

// A classification head on each sequence's first token:
// logits = out(activation(dense(h[first]))). BERT's pooler + classifier,
// RoBERTa's classifier.dense + out_proj and DistilBERT's pre_classifier +
// classifier are all this shape.
struct FirstTokenHead {
  enum class Activation { Tanh, Relu };
  LinearPtr dense;  // [hidden × hidden]
  LinearPtr out;    // [labels × hidden]
  Activation activation = Activation::Tanh;
  std::string dense_name;  // name of the intermediate for the tensor sink

  int num_labels() const { return out->n(); }
  std::vector<float> logits(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                            TensorSink* sink) const;
};

// The head when "<out_prefix>.weight" exists, else nullptr.
std::unique_ptr<FirstTokenHead> load_first_token_head(const WeightStore& weights,
                                                      const std::string& dense_prefix,
                                                      const std::string& out_prefix, int hidden,
                                                      FirstTokenHead::Activation activation,
                                                      const std::string& dense_name);

// Rows seq_offsets[s] (the first token of each sequence) of hidden: [S × width].
std::vector<float> first_token_rows(const std::vector<float>& hidden, int width, const EncoderBatch& batch);

// Reports a named tensor to the sink when there is one.
void emit(TensorSink* sink, const std::string& name, const std::vector<float>& data, int64_t cols);

// Checks config.json's hidden_act: only exact GELU is supported for now.
void require_gelu_activation(const std::string& where, const std::string& activation);

// config.json's LayerNorm epsilon (`key`, else fallback): positive and finite.
float read_layer_norm_eps(const ModelDir& model, const std::string& key, double fallback);

// Refuses a checkpoint that holds a layer past the `layers` the config names
// (`first_tensor_of_next_layer` exists): those weights would be silently
// ignored and the model would compute something else than it was trained to.
void refuse_extra_layers(const WeightStore& weights, const std::string& first_tensor_of_next_layer,
                         const ModelDir& model, const std::string& layers_key, int layers);

}  // namespace qp
