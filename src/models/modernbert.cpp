// ModernBERT: pre-LN layers (the first without an attention norm) with one
// fused Wqkv, rotary position embeddings instead of a position table,
// alternating global and local (sliding-window) attention with their own
// rotary theta, a GeGLU feed-forward part from one fused Wi, norms and
// linears that may lack biases, a final norm, and a head that pools (mean or
// first token) → dense → activation → norm → classifier.
#include <memory>

#include "core/error.h"
#include "models/blocks.h"
#include "models/pooling.h"
#include "models/registry.h"
#include "models/rotary.h"
#include "models/sliding_window.h"

namespace qp {
namespace {

constexpr double kDefaultLocalRopeTheta = 10000.0;

struct ModernBertConfig {
  LayerShape layer;
  int layers = 0, vocab = 0, max_positions = 0;
  int global_every = 1;  // layer l is global when l % global_every == 0
  int half_window = 0;   // local layers: keys at most this far from the query
  double global_theta = 0, local_theta = 0;
  bool norm_bias = false, attention_bias = false, mlp_bias = false, classifier_bias = false;
  PoolingMode pooling = PoolingMode::Mean;
  std::string prefix;  // "model." or "" (a bare ModernBertModel)
};

ModernBertConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  ModernBertConfig c;
  c.layer.hidden = config_int(model, "hidden_size");
  c.layer.heads = config_int(model, "num_attention_heads");
  c.layer.intermediate = config_int(model, "intermediate_size");
  c.layer.eps = read_layer_norm_eps(model, "norm_eps", 1e-5);
  c.layer.placement = NormPlacement::Pre;
  c.layer.fused_qkv = true;
  c.layer.fused_gate_up = true;
  c.layers = config_int(model, "num_hidden_layers");
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int_or(model, "max_position_embeddings", 8192);
  if (c.layer.heads <= 0 || c.layer.hidden % c.layer.heads != 0)
    fail(where, ": hidden_size ", c.layer.hidden, " is not divisible by num_attention_heads ", c.layer.heads);
  require_gelu_activation(where, config_string_or(model, "hidden_activation", "gelu"));
  require_gelu_activation(where, config_string_or(model, "classifier_activation", "gelu"));
  c.global_every = config_int_or(model, "global_attn_every_n_layers", 3);
  if (c.global_every <= 0) fail(where, ": global_attn_every_n_layers must be positive, got ", c.global_every);
  c.half_window = config_int_or(model, "local_attention", 128) / 2;
  c.global_theta = config_double_or(model, "global_rope_theta", 160000.0);
  // As transformers' ModernBertConfig: an absent key means 10000, an explicit
  // null means the local layers use the global theta.
  c.local_theta = model.config.contains("local_rope_theta")
                      ? config_double_or(model, "local_rope_theta", c.global_theta)
                      : kDefaultLocalRopeTheta;
  c.norm_bias = config_bool_or(model, "norm_bias", false);
  c.attention_bias = config_bool_or(model, "attention_bias", false);
  c.mlp_bias = config_bool_or(model, "mlp_bias", false);
  c.classifier_bias = config_bool_or(model, "classifier_bias", false);
  const std::string pooling = config_string_or(model, "classifier_pooling", "cls");
  if (pooling == "mean")
    c.pooling = PoolingMode::Mean;
  else if (pooling == "cls")
    c.pooling = PoolingMode::Cls;
  else
    fail(where, ": classifier_pooling \"", pooling, "\" is not supported (supported: cls, mean)");
  c.prefix = weights.find("model.embeddings.tok_embeddings.weight") ? "model." : "";
  return c;
}

TensorTable modernbert_tensors(const ModernBertConfig& c) {
  using R = TensorRole;
  const int64_t h = c.layer.hidden, i = c.layer.intermediate;
  const std::string& p = c.prefix;
  TensorTable t;
  t.add(p + "embeddings.tok_embeddings", R::WordEmbeddings, {c.vocab, h}, -1, false);
  t.add(p + "embeddings.norm", R::EmbeddingNorm, {h}, -1, c.norm_bias);
  for (int l = 0; l < c.layers; ++l) {
    const std::string layer = cat(p, "layers.", l, ".");
    // Layer 0's attention norm is an identity: the embedding norm precedes it.
    if (l > 0) t.add(layer + "attn_norm", R::AttnNorm, {h}, l, c.norm_bias);
    t.add(layer + "attn.Wqkv", R::AttnQ, {3 * h, h}, l, c.attention_bias);
    t.add(layer + "attn.Wo", R::AttnOut, {h, h}, l, c.attention_bias);
    t.add(layer + "mlp_norm", R::FfnNorm, {h}, l, c.norm_bias);
    t.add(layer + "mlp.Wi", R::FfnUp, {2 * i, h}, l, c.mlp_bias);
    t.add(layer + "mlp.Wo", R::FfnDown, {h, i}, l, c.mlp_bias);
  }
  t.add(p + "final_norm", R::FinalNorm, {h}, -1, c.norm_bias);
  t.add("head.dense", R::HeadDense, {h, h}, -1, c.classifier_bias, false);
  t.add("head.norm", R::HeadNorm, {h}, -1, c.norm_bias, false);
  t.add("classifier", R::HeadOut, {kAnyDim, h}, -1, true, false);
  // The masked-LM decoder of pre-trained checkpoints (its head.dense / head.norm are the same modules).
  t.ignored_prefixes = {"decoder."};
  return t;
}

// pool → dense → GELU → norm → classifier.
struct PooledHead {
  PoolingMode pooling = PoolingMode::Mean;
  LinearPtr dense;
  LayerNormParams norm;
  LinearPtr out;

  std::vector<float> logits(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                            TensorSink* sink) const {
    const int h = dense->k(), s = batch.num_sequences();
    const std::vector<float> pooled = pool_sequences(hidden, h, batch, pooling);
    std::vector<float> mid(static_cast<size_t>(s) * h);
    dense->forward(pooled.data(), s, mid.data(), pool);
    kernels::gelu(mid.data(), static_cast<int64_t>(mid.size()), pool);
    kernels::add_layer_norm(mid.data(), nullptr, mid.data(), s, h, norm.gamma.data(), norm.beta.data(),
                            norm.eps, pool);
    emit(sink, "head.norm", mid, h);
    std::vector<float> result(static_cast<size_t>(s) * out->n());
    out->forward(mid.data(), s, result.data(), pool);
    emit(sink, "logits", result, out->n());
    return result;
  }
};

class ModernBert final : public EncoderModel {
 public:
  ModernBert(const ModelDir& model, const WeightStore& weights)
      : config_(read_config(model, weights)),
        global_rope_(config_.global_theta, config_.layer.head_dim()),
        local_rope_(config_.local_theta, config_.layer.head_dim()),
        window_(config_.half_window) {
    const ModernBertConfig& c = config_;
    const TensorTable table = modernbert_tensors(c);
    refuse_extra_layers(weights, cat(c.prefix, "layers.", c.layers, ".attn.Wqkv.weight"), model,
                        "num_hidden_layers", c.layers);
    check_tensors(table, weights, "modernbert");
    const int h = c.layer.hidden;
    embeddings_ = load_embeddings(weights, table, h, c.vocab, c.max_positions, 0, 0, c.layer.eps);
    layers_ = load_layers(weights, table, c.layers, c.layer);
    final_norm_ = load_norm(weights, table.require(TensorRole::FinalNorm), h, c.layer.eps);
    load_head(weights, table);
    info_ = {"modernbert", h, c.layers, c.layer.heads, c.max_positions, c.vocab, head_ ? head_->out->n() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    const auto local = [this](int layer) { return layer % config_.global_every != 0; };
    run_layers(
        layers_, config_.layer, batch, hidden, pool, sink,
        [&](int layer) -> const ScoreHook* { return local(layer) ? &window_ : nullptr; },
        [&](int layer) -> const QkTransform* { return local(layer) ? &local_rope_ : &global_rope_; });
    const int h = config_.layer.hidden;
    kernels::add_layer_norm(hidden.data(), nullptr, hidden.data(), batch.total_tokens(), h,
                            final_norm_.gamma.data(), final_norm_.beta.data(), final_norm_.eps, pool);
    emit(sink, "final_norm", hidden, h);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this ModernBERT model has no classification head (no classifier.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  void load_head(const WeightStore& weights, const TensorTable& table) {
    const int h = config_.layer.hidden;
    const TensorDecl& out = table.require(TensorRole::HeadOut);
    const TensorView* out_view = weights.find(out.weight());
    if (!out_view) return;
    const TensorDecl& dense = table.require(TensorRole::HeadDense);
    const TensorDecl& norm = table.require(TensorRole::HeadNorm);
    for (const TensorDecl* needed : {&dense, &norm})
      if (!weights.find(needed->weight()))
        fail(weights.dir().string(), ": the classification head has ", out.weight(), " but not ",
             needed->weight());
    head_ = std::make_unique<PooledHead>();
    head_->pooling = config_.pooling;
    head_->dense = load_linear(weights, dense.module, h, h, dense.bias);
    head_->norm = load_norm(weights, norm, h, config_.layer.eps);
    head_->out = load_linear(weights, out.module, static_cast<int>(out_view->shape[0]), h, out.bias);
  }

  ModernBertConfig config_;
  RotaryEmbedding global_rope_, local_rope_;
  SlidingWindowHook window_;
  EmbeddingWeights embeddings_;
  std::vector<TransformerLayer> layers_;
  LayerNormParams final_norm_;
  std::unique_ptr<PooledHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_modernbert(const ModelDir& model, const WeightStore& weights) {
  return modernbert_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_modernbert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<ModernBert>(model, weights);
}

}  // namespace qp
