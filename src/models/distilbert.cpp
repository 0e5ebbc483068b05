// DistilBERT: post-LN layers without token type embeddings, its own config keys
// (dim, n_layers, n_heads, hidden_dim) and tensor names, and a head
// pre_classifier → ReLU → classifier on h[CLS]. LayerNorm eps is fixed at 1e-12.
#include "core/error.h"
#include "models/blocks.h"
#include "models/registry.h"

namespace qp {
namespace {

constexpr float kDistilBertLayerNormEps = 1e-12f;

struct DistilBertConfig {
  LayerShape layer;
  int layers = 0, vocab = 0, max_positions = 0;
  std::string prefix;  // "distilbert." or "" (a bare DistilBertModel)
};

DistilBertConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  DistilBertConfig c;
  c.layer = {config_int(model, "dim"), config_int(model, "n_heads"), config_int(model, "hidden_dim"),
             kDistilBertLayerNormEps};
  c.layers = config_int(model, "n_layers");
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int_or(model, "max_position_embeddings", 512);
  if (c.layer.heads <= 0 || c.layer.hidden % c.layer.heads != 0)
    fail(where, ": dim ", c.layer.hidden, " is not divisible by n_heads ", c.layer.heads);
  require_gelu_activation(where, config_string_or(model, "activation", "gelu"));
  if (config_bool_or(model, "sinusoidal_pos_embds", false))
    fail(where, ": sinusoidal_pos_embds is not supported");
  c.prefix = weights.find("distilbert.embeddings.word_embeddings.weight") ? "distilbert." : "";
  return c;
}

TensorTable distilbert_tensors(const DistilBertConfig& c) {
  using R = TensorRole;
  const int64_t h = c.layer.hidden;
  const std::string& p = c.prefix;
  TensorTable t;
  t.add(p + "embeddings.word_embeddings", R::WordEmbeddings, {c.vocab, h}, -1, false);
  t.add(p + "embeddings.position_embeddings", R::PositionEmbeddings, {c.max_positions, h}, -1, false);
  t.add(p + "embeddings.LayerNorm", R::EmbeddingNorm, {h});
  declare_layers(t, p,
                 {"transformer.layer.", "attention.q_lin", "attention.k_lin", "attention.v_lin",
                  "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"},
                 c.layers, c.layer);
  t.add("pre_classifier", R::HeadDense, {h, h}, -1, true, false);
  t.add("classifier", R::HeadOut, {kAnyDim, h}, -1, true, false);
  // The masked-LM head of pre-trained checkpoints, and a buffer.
  t.ignored_prefixes = {"vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
                        p + "embeddings.position_ids"};
  return t;
}

class DistilBert final : public EncoderModel {
 public:
  DistilBert(const ModelDir& model, const WeightStore& weights) : config_(read_config(model, weights)) {
    const DistilBertConfig& c = config_;
    const TensorTable table = distilbert_tensors(c);
    refuse_extra_layers(weights, cat(c.prefix, "transformer.layer.", c.layers, ".attention.q_lin.weight"),
                        model, "n_layers", c.layers);
    check_tensors(table, weights, "distilbert");
    const int h = c.layer.hidden;
    embeddings_ = load_embeddings(weights, table, h, c.vocab, c.max_positions, 0, 0, c.layer.eps);
    layers_ = load_layers(weights, table, c.layers, c.layer);
    head_ = load_first_token_head(weights, table, TensorRole::HeadDense, h, FirstTokenHead::Activation::Relu,
                                  "pre_classifier");
    info_ = {
        "distilbert", h, c.layers, c.layer.heads, c.max_positions, c.vocab, head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    run_layers(layers_, config_.layer, batch, hidden, pool, sink);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this DistilBERT model has no classification head (no classifier.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  DistilBertConfig config_;
  EmbeddingWeights embeddings_;
  std::vector<TransformerLayer> layers_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_distilbert(const ModelDir& model, const WeightStore& weights) {
  return distilbert_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_distilbert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<DistilBert>(model, weights);
}

}  // namespace qp
