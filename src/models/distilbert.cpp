// DistilBERT: post-LN layers without token type embeddings, its own config keys
// (dim, n_layers, n_heads, hidden_dim) and tensor names, and a head
// pre_classifier → ReLU → classifier on h[CLS]. LayerNorm eps is fixed at 1e-12.
#include "core/error.h"
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

constexpr float kDistilBertLayerNormEps = 1e-12f;

PostLnLayerNames layer_names(const std::string& prefix, int i) {
  const std::string l = prefix + "transformer.layer." + std::to_string(i) + ".";
  return {l + "attention.q_lin", l + "attention.k_lin", l + "attention.v_lin", l + "attention.out_lin",
          l + "sa_layer_norm",   l + "ffn.lin1",        l + "ffn.lin2",        l + "output_layer_norm"};
}

class DistilBert final : public EncoderModel {
 public:
  DistilBert(const ModelDir& model, const WeightStore& weights) {
    const std::string where = (model.dir / "config.json").string();
    shape_ = {config_int(model, "dim"), config_int(model, "n_heads"), config_int(model, "hidden_dim"),
              kDistilBertLayerNormEps};
    const int layers = config_int(model, "n_layers");
    if (shape_.heads <= 0 || shape_.hidden % shape_.heads != 0)
      fail(where, ": dim ", shape_.hidden, " is not divisible by n_heads ", shape_.heads);
    require_gelu_activation(where, config_string_or(model, "activation", "gelu"));
    if (config_bool_or(model, "sinusoidal_pos_embds", false))
      fail(where, ": sinusoidal_pos_embds is not supported");

    const std::string prefix =
        weights.find("distilbert.embeddings.word_embeddings.weight") ? "distilbert." : "";
    const int h = shape_.hidden;
    embeddings_.hidden = h;
    embeddings_.vocab = config_int(model, "vocab_size");
    embeddings_.max_positions = config_int_or(model, "max_position_embeddings", 512);
    embeddings_.word =
        EmbeddingTable::load(weights, prefix + "embeddings.word_embeddings.weight", embeddings_.vocab, h);
    embeddings_.position = EmbeddingTable::load(weights, prefix + "embeddings.position_embeddings.weight",
                                                embeddings_.max_positions, h);
    embeddings_.norm = load_layer_norm(weights, prefix + "embeddings.LayerNorm", h, shape_.eps);
    for (int i = 0; i < layers; ++i)
      layers_.push_back(load_post_ln_layer(weights, layer_names(prefix, i), shape_));
    refuse_extra_layers(weights, layer_names(prefix, layers).query + ".weight", model, "n_layers", layers);

    head_ = load_first_token_head(weights, "pre_classifier", "classifier", h,
                                  FirstTokenHead::Activation::Relu, "pre_classifier");
    info_ = {"distilbert",
             h,
             layers,
             shape_.heads,
             embeddings_.max_positions,
             embeddings_.vocab,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    run_post_ln_stack(layers_, shape_, batch, hidden, pool, sink);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this DistilBERT model has no classification head (no classifier.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  PostLnShape shape_;
  EmbeddingWeights embeddings_;
  std::vector<PostLnLayerWeights> layers_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_distilbert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<DistilBert>(model, weights);
}

}  // namespace qp
