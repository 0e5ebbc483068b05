#include "train/trainable_encoder.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/bert_body.h"
#include "models/layer_parts.h"
#include "models/pooling.h"
#include "models/registry.h"
#include "models/tensor_table.h"
#include "train/activation_grad.h"
#include "train/fake_quant.h"
#include "train/linear_grad.h"
#include "train/pooling_grad.h"

namespace qp::train {
namespace {

// The architectures whose layers are BERT's (post-LN, absolute positions)
// and their first position id.
int position_offset_for(const ModelDir& model) {
  static const std::set<std::string> bert_like = {"bert"};
  static const std::set<std::string> roberta_like = {"roberta", "xlm-roberta"};
  if (bert_like.count(model.model_type)) return 0;
  if (roberta_like.count(model.model_type)) return config_int_or(model, "pad_token_id", 1) + 1;
  fail((model.dir / "config.json").string(),
       ": fine-tuning supports bert, roberta and xlm-roberta models; model_type \"", model.model_type,
       "\" is not supported yet");
}

void add_into(std::vector<float>& into, const std::vector<float>& from) {
  for (size_t i = 0; i < into.size(); ++i) into[i] += from[i];
}

}  // namespace

TrainableEncoder TrainableEncoder::load(const std::filesystem::path& dir) {
  const ModelDir model = read_model_dir(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  const int offset = position_offset_for(model);
  const TensorTable table = declare_tensors(model, weights);
  check_tensors(table, weights, model.model_type);
  const BertBodyConfig config = read_bert_body_config(model);

  TrainableEncoder e;
  EncoderDims& d = e.dims_;
  d.hidden = config.layer.hidden;
  d.heads = config.layer.heads;
  d.intermediate = config.layer.intermediate;
  d.layers = config.layers;
  d.vocab = config.vocab;
  d.max_positions = config.max_positions;
  d.type_vocab = config.type_vocab;
  d.position_offset = offset;
  d.eps = config.layer.eps;
  const int64_t h = d.hidden, inter = d.intermediate;

  auto weight = [&](TensorRole role, int layer, const Shape& shape) {
    return &e.parameters_.load(weights, table.require(role, layer).weight(), shape, true);
  };
  auto bias = [&](TensorRole role, int layer, int64_t n) {
    return &e.parameters_.load(weights, table.require(role, layer).bias_name(), {n}, false);
  };
  auto norm = [&](TensorRole role, int layer, Parameter*& gamma, Parameter*& beta) {
    gamma = &e.parameters_.load(weights, table.require(role, layer).weight(), {h}, false);
    beta = &e.parameters_.load(weights, table.require(role, layer).bias_name(), {h}, false);
  };

  e.word_ = weight(TensorRole::WordEmbeddings, -1, {d.vocab, h});
  e.position_ = weight(TensorRole::PositionEmbeddings, -1, {d.max_positions, h});
  if (table.present(weights, TensorRole::TokenTypeEmbeddings))
    e.type_ = weight(TensorRole::TokenTypeEmbeddings, -1, {d.type_vocab, h});
  norm(TensorRole::EmbeddingNorm, -1, e.emb_gamma_, e.emb_beta_);
  for (int i = 0; i < d.layers; ++i) {
    LayerParams p{};
    p.q_w = weight(TensorRole::AttnQ, i, {h, h});
    p.q_b = bias(TensorRole::AttnQ, i, h);
    p.k_w = weight(TensorRole::AttnK, i, {h, h});
    p.k_b = bias(TensorRole::AttnK, i, h);
    p.v_w = weight(TensorRole::AttnV, i, {h, h});
    p.v_b = bias(TensorRole::AttnV, i, h);
    p.o_w = weight(TensorRole::AttnOut, i, {h, h});
    p.o_b = bias(TensorRole::AttnOut, i, h);
    norm(TensorRole::AttnNorm, i, p.attn_gamma, p.attn_beta);
    p.up_w = weight(TensorRole::FfnUp, i, {inter, h});
    p.up_b = bias(TensorRole::FfnUp, i, inter);
    p.down_w = weight(TensorRole::FfnDown, i, {h, inter});
    p.down_b = bias(TensorRole::FfnDown, i, h);
    norm(TensorRole::FfnNorm, i, p.ffn_gamma, p.ffn_beta);
    e.layers_.push_back(std::move(p));
  }

  const std::string where = dir.string();
  if (model.sentence_transformer) {
    const SentenceTransformerConfig& st = *model.sentence_transformer;
    if (!st.dense.empty())
      fail(where, ": fine-tuning does not support sentence-transformers Dense modules yet");
    e.head_ = TrainHead::Embedding;
    e.pooling_ = st.pooling.mode;
    e.normalize_ = st.normalize;
    if (e.pooling_ != PoolingMode::Mean && e.pooling_ != PoolingMode::Cls)
      fail(where, ": fine-tuning supports mean and CLS pooling only");
  } else if (table.present(weights, TensorRole::HeadOut)) {
    e.head_ = TrainHead::Classifier;
    const TensorRole dense_role =
        table.present(weights, TensorRole::HeadDense) ? TensorRole::HeadDense : TensorRole::Pooler;
    if (!table.present(weights, dense_role)) fail(where, ": the classifier has no pooler / dense layer");
    e.dense_w_ = weight(dense_role, -1, {h, h});
    e.dense_b_ = bias(dense_role, -1, h);
    const TensorView& out = weights.require(table.require(TensorRole::HeadOut).weight());
    d.labels = static_cast<int>(out.shape.at(0));
    e.out_w_ = weight(TensorRole::HeadOut, -1, {d.labels, h});
    e.out_b_ = bias(TensorRole::HeadOut, -1, d.labels);
  } else {
    fail(where,
         ": nothing to fine-tune against: the model has neither a classification head nor "
         "sentence-transformers pooling (modules.json)");
  }
  return e;
}

void TrainableEncoder::refresh(float ternary_threshold, ThreadPool& pool) {
  quant::QuantOptions options;
  options.ternary_threshold = ternary_threshold;
  auto& all = parameters_.all();
  // One parameter a task; each quantizer runs serially inside its task.
  pool.parallel_for(static_cast<int64_t>(all.size()), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      if (all[i]->scheme) fake_quantize(*all[i], options);
  });
  const int64_t h = dims_.hidden;
  for (LayerParams& p : layers_) {
    p.qkv_w.resize(3 * h * h);
    p.qkv_b.resize(3 * h);
    const Parameter* parts_w[3] = {p.q_w, p.k_w, p.v_w};
    const Parameter* parts_b[3] = {p.q_b, p.k_b, p.v_b};
    for (int part = 0; part < 3; ++part) {
      std::copy(parts_w[part]->forward_value(), parts_w[part]->forward_value() + h * h,
                p.qkv_w.begin() + part * h * h);
      std::copy(parts_b[part]->forward_value(), parts_b[part]->forward_value() + h,
                p.qkv_b.begin() + part * h);
    }
    const int hi = dims_.hidden, inter = dims_.intermediate;
    p.qkv = std::make_unique<kernels::LinearF32>(p.qkv_w.data(), 3 * hi, hi, p.qkv_b.data());
    p.out = std::make_unique<kernels::LinearF32>(p.o_w->forward_value(), hi, hi, p.o_b->forward_value());
    p.up = std::make_unique<kernels::LinearF32>(p.up_w->forward_value(), inter, hi, p.up_b->forward_value());
    p.down =
        std::make_unique<kernels::LinearF32>(p.down_w->forward_value(), hi, inter, p.down_b->forward_value());
  }
}

AttentionShape TrainableEncoder::attention_shape() const {
  const int head_dim = dims_.hidden / dims_.heads;
  return {dims_.heads, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim))};
}

void TrainableEncoder::layer_forward(int index, const float* input, int t, const EncoderBatch& batch,
                                     LayerCache& c, ThreadPool& pool, TensorSink* sink) const {
  const LayerParams& p = layers_[index];
  const int h = dims_.hidden, inter = dims_.intermediate;
  const std::string name = "layer." + std::to_string(index) + ".";
  c.qkv.resize(static_cast<size_t>(t) * 3 * h);
  p.qkv->forward(input, t, c.qkv.data(), pool);
  emit(sink, name + "attn_qkv", c.qkv, 3 * h);
  const AttentionShape shape = attention_shape();
  c.context.resize(static_cast<size_t>(t) * h);
  attention_forward(c.qkv.data(), batch.seq_offsets, shape, c.context.data(), c.probs, pool);
  emit(sink, name + "attn_context", c.context, h);
  c.attn_sum.resize(static_cast<size_t>(t) * h);
  p.out->forward(c.context.data(), t, c.attn_sum.data(), pool);
  for (size_t i = 0; i < c.attn_sum.size(); ++i) c.attn_sum[i] += input[i];
  emit(sink, name + "attn_sum", c.attn_sum, h);
  c.attn_normed.resize(c.attn_sum.size());
  layer_norm_forward(c.attn_sum.data(), t, h, p.attn_gamma->forward_value(), p.attn_beta->forward_value(),
                     dims_.eps, c.attn_normed.data(), c.attn_stats, pool);
  emit(sink, name + "attn_norm", c.attn_normed, h);
  c.up.resize(static_cast<size_t>(t) * inter);
  p.up->forward(c.attn_normed.data(), t, c.up.data(), pool);
  emit(sink, name + "ffn_up", c.up, inter);
  c.act.resize(c.up.size());
  // The engine's vectorized GELU (within 3e-7 of the erf formula, kernels_test).
  std::copy(c.up.begin(), c.up.end(), c.act.begin());
  kernels::gelu(c.act.data(), static_cast<int64_t>(c.act.size()), pool);
  emit(sink, name + "ffn_act", c.act, inter);
  c.ffn_sum.resize(static_cast<size_t>(t) * h);
  p.down->forward(c.act.data(), t, c.ffn_sum.data(), pool);
  add_into(c.ffn_sum, c.attn_normed);
  emit(sink, name + "ffn_sum", c.ffn_sum, h);
  c.output.resize(c.ffn_sum.size());
  layer_norm_forward(c.ffn_sum.data(), t, h, p.ffn_gamma->forward_value(), p.ffn_beta->forward_value(),
                     dims_.eps, c.output.data(), c.ffn_stats, pool);
  emit(sink, name + "out", c.output, h);
}

ForwardPass TrainableEncoder::forward(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink,
                                      bool keep_for_backward) const {
  ForwardPass f;
  f.batch = batch;
  f.for_backward = keep_for_backward;
  const int t = batch.total_tokens(), h = dims_.hidden, s = batch.num_sequences();
  if (layers_.empty() || !layers_[0].qkv) fail("[train] refresh() was not called before forward()");
  f.emb_sum.resize(static_cast<size_t>(t) * h);
  for (int seq = 0; seq < s; ++seq) {
    const int first = batch.seq_offsets[seq], len = batch.length(seq);
    if (dims_.position_offset + len > dims_.max_positions)
      fail("[train] a sequence of ", len, " tokens does not fit the model's ", dims_.max_positions,
           " positions");
    for (int i = 0; i < len; ++i) {
      const int row = first + i, id = batch.input_ids[row];
      if (id < 0 || id >= dims_.vocab)
        fail("[train] token id ", id, " is outside the vocabulary of ", dims_.vocab);
      const int type = batch.token_type_ids.empty() ? 0 : batch.token_type_ids[row];
      const float* w = word_->forward_value() + static_cast<int64_t>(id) * h;
      const float* pos = position_->forward_value() + static_cast<int64_t>(dims_.position_offset + i) * h;
      float* out = f.emb_sum.data() + static_cast<int64_t>(row) * h;
      for (int c = 0; c < h; ++c) out[c] = w[c] + pos[c];
      if (type_) {
        if (type < 0 || type >= dims_.type_vocab)
          fail("[train] token type ", type, " is outside 0..", dims_.type_vocab - 1);
        const float* ty = type_->forward_value() + static_cast<int64_t>(type) * h;
        for (int c = 0; c < h; ++c) out[c] += ty[c];
      }
    }
  }
  emit(sink, "embeddings.sum", f.emb_sum, h);
  f.emb_out.resize(f.emb_sum.size());
  layer_norm_forward(f.emb_sum.data(), t, h, emb_gamma_->forward_value(), emb_beta_->forward_value(),
                     dims_.eps, f.emb_out.data(), f.emb_stats, pool);
  emit(sink, "embeddings.norm", f.emb_out, h);
  f.layers.resize(dims_.layers);
  for (int i = 0; i < dims_.layers; ++i) {
    layer_forward(i, f.hidden_state(i).data(), t, batch, f.layers[i], pool, sink);
    if (!keep_for_backward) {
      LayerCache& c = f.layers[i];
      LayerCache kept;
      kept.output = std::move(c.output);
      c = std::move(kept);
    }
  }
  if (!keep_for_backward) {
    f.emb_sum = {};
    f.emb_stats = {};
  }
  const std::vector<float>& last = f.hidden_state(dims_.layers);

  if (head_ == TrainHead::Classifier) {
    f.first = pool_sequences(last, h, batch, PoolingMode::Cls);
    f.head_act.resize(f.first.size());
    linear_forward(f.first.data(), s, dense_w_->forward_value(), dense_b_->forward_value(), h, h,
                   f.head_act.data(), pool);
    tanh_forward(f.head_act.data(), static_cast<int64_t>(f.head_act.size()), f.head_act.data(), pool);
    emit(sink, "head.dense", f.head_act, h);
    f.logits.resize(static_cast<size_t>(s) * dims_.labels);
    linear_forward(f.head_act.data(), s, out_w_->forward_value(), out_b_->forward_value(), dims_.labels, h,
                   f.logits.data(), pool);
    emit(sink, "logits", f.logits, dims_.labels);
  } else {
    f.pooled = pool_sequences(last, h, batch, pooling_);
    emit(sink, "pooled", f.pooled, h);
    f.embedding = f.pooled;
    if (normalize_) l2_normalize_rows(f.embedding, h);
    emit(sink, "embedding", f.embedding, h);
  }
  return f;
}

void TrainableEncoder::layer_backward(int index, const float* input, const EncoderBatch& batch,
                                      const LayerCache& c, std::vector<float>& d_out,
                                      std::vector<float>& d_input, ThreadPool& pool) {
  LayerParams& p = layers_[index];
  const int h = dims_.hidden, inter = dims_.intermediate, t = batch.total_tokens();
  // out = LN(ffn_sum); ffn_sum = attn_normed + down(GELU(up(attn_normed))).
  std::vector<float> d_ffn_sum(d_out.size());
  layer_norm_backward(d_out.data(), c.ffn_sum.data(), t, h, p.ffn_gamma->forward_value(), c.ffn_stats,
                      d_ffn_sum.data(), p.ffn_gamma->grad.data(), p.ffn_beta->grad.data(), pool);
  std::vector<float> d_act(c.act.size());
  linear_backward(d_ffn_sum.data(), c.act.data(), t, p.down_w->forward_value(), h, inter, d_act.data(), false,
                  p.down_w->grad.data(), p.down_b->grad.data(), pool);
  gelu_backward(d_act.data(), c.up.data(), static_cast<int64_t>(d_act.size()), d_act.data(), pool);
  std::vector<float>& d_normed = d_ffn_sum;  // the residual path: d(attn_normed) starts as d(ffn_sum)
  linear_backward(d_act.data(), c.attn_normed.data(), t, p.up_w->forward_value(), inter, h, d_normed.data(),
                  true, p.up_w->grad.data(), p.up_b->grad.data(), pool);
  // attn_normed = LN(attn_sum); attn_sum = input + out_proj(Attention(qkv(input))).
  std::vector<float> d_attn_sum(d_out.size());
  layer_norm_backward(d_normed.data(), c.attn_sum.data(), t, h, p.attn_gamma->forward_value(), c.attn_stats,
                      d_attn_sum.data(), p.attn_gamma->grad.data(), p.attn_beta->grad.data(), pool);
  std::vector<float> d_context(c.context.size());
  linear_backward(d_attn_sum.data(), c.context.data(), t, p.o_w->forward_value(), h, h, d_context.data(),
                  false, p.o_w->grad.data(), p.o_b->grad.data(), pool);
  const AttentionShape shape = attention_shape();
  std::vector<float> d_qkv(c.qkv.size());
  attention_backward(d_context.data(), c.qkv.data(), c.probs, batch.seq_offsets, shape, d_qkv.data(), pool);
  d_input = std::move(d_attn_sum);  // the residual path
  std::vector<float> d_qkv_w(static_cast<size_t>(3) * h * h, 0.0f), d_qkv_b(static_cast<size_t>(3) * h, 0.0f);
  linear_backward(d_qkv.data(), input, t, p.qkv_w.data(), 3 * h, h, d_input.data(), true, d_qkv_w.data(),
                  d_qkv_b.data(), pool);
  Parameter* parts_w[3] = {p.q_w, p.k_w, p.v_w};
  Parameter* parts_b[3] = {p.q_b, p.k_b, p.v_b};
  for (int part = 0; part < 3; ++part) {
    for (int64_t i = 0; i < static_cast<int64_t>(h) * h; ++i)
      parts_w[part]->grad[i] += d_qkv_w[part * h * h + i];
    for (int i = 0; i < h; ++i) parts_b[part]->grad[i] += d_qkv_b[part * h + i];
  }
}

void TrainableEncoder::backward(const ForwardPass& f, const OutputGrads& grads, ThreadPool& pool,
                                TensorSink* sink) {
  if (!f.for_backward)
    fail("[train] this forward pass kept nothing for a backward (keep_for_backward was false)");
  const EncoderBatch& batch = f.batch;
  const int t = batch.total_tokens(), h = dims_.hidden, s = batch.num_sequences();
  auto hidden_grad = [&](int i) -> const std::vector<float>* {
    if (grads.d_hidden_states.size() <= static_cast<size_t>(i) || grads.d_hidden_states[i].empty())
      return nullptr;
    if (grads.d_hidden_states[i].size() != static_cast<size_t>(t) * h)
      fail("[train] the gradient of hidden state ", i, " has the wrong size");
    return &grads.d_hidden_states[i];
  };

  std::vector<float> d_hidden(static_cast<size_t>(t) * h, 0.0f);
  if (!grads.d_head.empty()) {
    if (grads.d_head.size() != f.head_output().size()) fail("[train] the head gradient has the wrong size");
    if (head_ == TrainHead::Classifier) {
      std::vector<float> d_act(f.head_act.size());
      linear_backward(grads.d_head.data(), f.head_act.data(), s, out_w_->forward_value(), dims_.labels, h,
                      d_act.data(), false, out_w_->grad.data(), out_b_->grad.data(), pool);
      tanh_backward(d_act.data(), f.head_act.data(), static_cast<int64_t>(d_act.size()), d_act.data(), pool);
      std::vector<float> d_first(f.first.size());
      linear_backward(d_act.data(), f.first.data(), s, dense_w_->forward_value(), h, h, d_first.data(), false,
                      dense_w_->grad.data(), dense_b_->grad.data(), pool);
      pool_backward(d_first.data(), batch.seq_offsets, h, PoolingMode::Cls, d_hidden.data());
    } else {
      std::vector<float> d_pooled = grads.d_head;
      if (normalize_)
        l2_normalize_backward(grads.d_head.data(), f.pooled.data(), f.embedding.data(), s, h,
                              d_pooled.data());
      pool_backward(d_pooled.data(), batch.seq_offsets, h, pooling_, d_hidden.data());
    }
  }
  std::vector<float> d_input;
  for (int i = dims_.layers - 1; i >= 0; --i) {
    if (const auto* extra = hidden_grad(i + 1)) add_into(d_hidden, *extra);
    emit(sink, "grad.layer." + std::to_string(i) + ".out", d_hidden, h);
    layer_backward(i, f.hidden_state(i).data(), batch, f.layers[i], d_hidden, d_input, pool);
    d_hidden.swap(d_input);
  }
  if (const auto* extra = hidden_grad(0)) add_into(d_hidden, *extra);
  emit(sink, "grad.embeddings.norm", d_hidden, h);
  std::vector<float> d_sum(d_hidden.size());
  layer_norm_backward(d_hidden.data(), f.emb_sum.data(), t, h, emb_gamma_->forward_value(), f.emb_stats,
                      d_sum.data(), emb_gamma_->grad.data(), emb_beta_->grad.data(), pool);
  // Lookups: each row's gradient goes to the rows it read (serial: ids repeat).
  for (int seq = 0; seq < s; ++seq) {
    const int first = batch.seq_offsets[seq], len = batch.length(seq);
    for (int i = 0; i < len; ++i) {
      const int row = first + i;
      const float* g = d_sum.data() + static_cast<int64_t>(row) * h;
      float* w = word_->grad.data() + static_cast<int64_t>(batch.input_ids[row]) * h;
      float* pos = position_->grad.data() + static_cast<int64_t>(dims_.position_offset + i) * h;
      for (int c = 0; c < h; ++c) {
        w[c] += g[c];
        pos[c] += g[c];
      }
      if (type_) {
        const int type = batch.token_type_ids.empty() ? 0 : batch.token_type_ids[row];
        float* ty = type_->grad.data() + static_cast<int64_t>(type) * h;
        for (int c = 0; c < h; ++c) ty[c] += g[c];
      }
    }
  }
}

}  // namespace qp::train
