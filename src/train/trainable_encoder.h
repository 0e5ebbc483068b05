// A BERT-family encoder (BERT, MiniLM, RoBERTa, XLM-R: post-LN layers,
// absolute positions) whose forward keeps what its backward needs, for
// fine-tuning. Parameters are found through the architecture's tensor table
// by role, so the Hugging Face names are the ones the loader and `convert`
// use. The forward uses each parameter's forward value (fake-quantized where
// a scheme is set, parameters.h); backward() adds every parameter's gradient.
//
// Memory: the forward keeps, per layer, the layer input, q/k/v, attention
// probabilities (heads·Σ len² floats), context, the two pre-norm sums and
// norm outputs, and the FFN's pre- and post-GELU values: about
// T·(9·H + 2·I) + heads·Σ len² floats a layer for T tokens; MiniLM-L6 at
// 32 sequences of 32 tokens holds ≈ 30 MiB for the whole model. Batches
// bound it; nothing is recomputed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "models/encoder.h"
#include "quantpipe/types.h"
#include "train/attention_grad.h"
#include "train/norm_grad.h"
#include "train/parameters.h"

namespace qp::train {

enum class TrainHead {
  Classifier,  // first token → dense → tanh → logits (BERT's pooler + classifier; RoBERTa's head)
  Embedding,   // sentence-transformers pooling, then L2 normalisation when the model has it
};

struct EncoderDims {
  int hidden = 0, heads = 0, intermediate = 0, layers = 0;
  int vocab = 0, max_positions = 0, type_vocab = 0;
  int position_offset = 0;  // first position id (RoBERTa: pad_token_id + 1)
  float eps = 1e-12f;
  int labels = 0;  // classifier outputs (Classifier head)
};

struct LayerCache {
  std::vector<float> qkv;  // [T × 3H]
  std::vector<float> probs;
  std::vector<float> context;   // [T × H]
  std::vector<float> attn_sum;  // input + attention output, before the norm
  NormStats attn_stats;
  std::vector<float> attn_normed;  // [T × H]
  std::vector<float> up;           // [T × I], before GELU
  std::vector<float> act;          // GELU(up)
  std::vector<float> ffn_sum;      // attn_normed + FFN output, before the norm
  NormStats ffn_stats;
  std::vector<float> output;  // [T × H]
};

// One forward pass and what its backward reads.
struct ForwardPass {
  EncoderBatch batch;
  bool for_backward = true;
  std::vector<float> emb_sum;  // word + position + type, before the norm
  NormStats emb_stats;
  std::vector<float> emb_out;
  std::vector<LayerCache> layers;
  std::vector<float> first;      // Classifier: first-token rows [S × H]
  std::vector<float> head_act;   // tanh(dense(first)) [S × H]
  std::vector<float> logits;     // [S × labels]
  std::vector<float> pooled;     // Embedding: pooled rows [S × H]
  std::vector<float> embedding;  // pooled, normalized when the model normalizes

  // 0: the embeddings' output; i ≥ 1: layer i−1's output. [T × H].
  const std::vector<float>& hidden_state(int i) const { return i == 0 ? emb_out : layers[i - 1].output; }
  // The model's output the losses compare: logits or the embedding.
  const std::vector<float>& head_output() const { return logits.empty() ? embedding : logits; }
};

// Gradients of the loss with respect to the forward's outputs; empty ones are zero.
struct OutputGrads {
  std::vector<float> d_head;                        // of head_output()
  std::vector<std::vector<float>> d_hidden_states;  // of hidden_state(i), i = 0..layers (or empty)
};

class TrainableEncoder {
 public:
  // Throws naming the directory for an architecture fine-tuning does not
  // support yet, a head it cannot train (2_Dense modules, max pooling), or
  // a model with neither a classifier nor sentence-transformers pooling.
  static TrainableEncoder load(const std::filesystem::path& dir);

  const EncoderDims& dims() const { return dims_; }
  TrainHead head() const { return head_; }
  int head_width() const { return head_ == TrainHead::Classifier ? dims_.labels : dims_.hidden; }
  ParameterSet& parameters() { return parameters_; }
  const ParameterSet& parameters() const { return parameters_; }

  // Rebuilds what the forward reads from the parameters: fake-quantized
  // values (with `ternary_threshold` as convert's) and the fused q/k/v
  // weights. Call after loading, after setting schemes, after each update.
  void refresh(float ternary_threshold, ThreadPool& pool);

  // The sink (optional) receives every intermediate: "embeddings.sum",
  // "embeddings.norm", "layer.<i>.attn_qkv", "attn_context", "attn_sum",
  // "attn_norm", "ffn_up", "ffn_act", "ffn_sum", "out", then "head.dense",
  // "logits" or "pooled", "embedding".
  // keep_for_backward false (a teacher, a validation pass): each layer's
  // intermediates are dropped once the next layer has its input, so only
  // the hidden states and the head's output stay; backward() is refused.
  ForwardPass forward(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink = nullptr,
                      bool keep_for_backward = true) const;

  // Adds the gradient of every parameter; the sink (optional) receives the
  // gradient of each layer's output as "grad.layer.<i>.out" and of the
  // embeddings' output as "grad.embeddings.norm".
  void backward(const ForwardPass& pass, const OutputGrads& grads, ThreadPool& pool,
                TensorSink* sink = nullptr);

 private:
  struct LayerParams {
    Parameter *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b, *attn_gamma, *attn_beta;
    Parameter *up_w, *up_b, *down_w, *down_b, *ffn_gamma, *ffn_beta;
    std::vector<float> qkv_w, qkv_b;  // fused forward values [3H × H], [3H]
    // The forward values packed for the GEMM once per refresh(), so a frozen
    // model (the teacher) packs its weights once, not on every forward.
    std::unique_ptr<kernels::LinearF32> qkv, out, up, down;
  };

  AttentionShape attention_shape() const;  // 1/√head_dim scale
  void layer_forward(int index, const float* input, int t, const EncoderBatch& batch, LayerCache& cache,
                     ThreadPool& pool, TensorSink* sink) const;
  // d_out: gradient of the layer's output (consumed); d_input: written.
  void layer_backward(int index, const float* input, const EncoderBatch& batch, const LayerCache& cache,
                      std::vector<float>& d_out, std::vector<float>& d_input, ThreadPool& pool);

  EncoderDims dims_;
  TrainHead head_ = TrainHead::Classifier;
  PoolingMode pooling_ = PoolingMode::Mean;
  bool normalize_ = false;
  ParameterSet parameters_;
  Parameter *word_ = nullptr, *position_ = nullptr, *type_ = nullptr, *emb_gamma_ = nullptr,
            *emb_beta_ = nullptr;
  std::vector<LayerParams> layers_;
  Parameter *dense_w_ = nullptr, *dense_b_ = nullptr, *out_w_ = nullptr, *out_b_ = nullptr;
};

}  // namespace qp::train
