// Building blocks the architectures share besides the layer (layer_parts.h):
// token embeddings, first-token classification heads, config checks.
#pragma once

#include <string>
#include <vector>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "models/encoder.h"
#include "models/layer_parts.h"
#include "models/tensor_table.h"
#include "models/weight_loader.h"

namespace qp {

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
  float word_scale = 1.0f;  // word embeddings times this before the sum (BART's scale_embedding: √hidden)
};

// The word, position and token-type tables and the embedding norm, by role
// (position and token-type tables when declared and present).
EmbeddingWeights load_embeddings(const WeightStore& weights, const TensorTable& table, int hidden, int vocab,
                                 int max_positions, int type_vocab, int position_offset, float eps);

// word + position (+ token type) embeddings, then LayerNorm: [T × hidden].
std::vector<float> embed_tokens(const EmbeddingWeights& weights, const EncoderBatch& batch, ThreadPool& pool,
                                TensorSink* sink);

// A classification head on each sequence's first token:
// logits = out(activation(dense(h[first]))). BERT's pooler + classifier,
// RoBERTa's classifier.dense + out_proj and DistilBERT's pre_classifier +
// classifier are all this shape.
struct FirstTokenHead {
  enum class Activation { Tanh, Relu, Gelu };
  LinearPtr dense;  // [hidden × hidden]
  LinearPtr out;    // [labels × hidden]
  Activation activation = Activation::Tanh;
  std::string dense_name;  // name of the intermediate for the tensor sink

  int num_labels() const { return out->n(); }
  std::vector<float> logits(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                            TensorSink* sink) const;
  // The same head on rows chosen otherwise ([S × hidden]: BART's last </s> of each sequence).
  std::vector<float> logits_of_rows(const std::vector<float>& rows, ThreadPool& pool, TensorSink* sink) const;
};

// The head of the table's dense role (pooler / head_dense) and head_out role,
// when the checkpoint holds the head_out weight; else nullptr.
std::unique_ptr<FirstTokenHead> load_first_token_head(const WeightStore& weights, const TensorTable& table,
                                                      TensorRole dense_role, int hidden,
                                                      FirstTokenHead::Activation activation,
                                                      const std::string& dense_name);

// Rows seq_offsets[s] (the first token of each sequence) of hidden: [S × width].
std::vector<float> first_token_rows(const std::vector<float>& hidden, int width, const EncoderBatch& batch);

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
