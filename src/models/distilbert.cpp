// DistilBERT: post-LN layers without token type embeddings, its own config keys
// (dim, n_layers, n_heads, hidden_dim) and tensor names, and a head
// pre_classifier → ReLU → classifier on h[CLS]. LayerNorm eps is fixed at 1e-12.
#include <algorithm>

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
    if (model.config.value("sinusoidal_pos_embds", false))
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

    if (const TensorView* classifier = weights.find("classifier.weight")) {
      num_labels_ = static_cast<int>(classifier->shape.empty() ? 0 : classifier->shape[0]);
      pre_classifier_ = load_linear(weights, "pre_classifier", h, h);
      classifier_ = load_linear(weights, "classifier", num_labels_, h);
    }
    info_ = {"distilbert", h, layers, shape_.heads, embeddings_.max_positions, num_labels_};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    run_post_ln_stack(layers_, shape_, batch, hidden, pool, sink);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!classifier_) fail("this DistilBERT model has no classification head (no classifier.weight)");
    const int h = shape_.hidden, s = batch.num_sequences();
    const std::vector<float> cls = first_token_rows(hidden, h, batch);
    std::vector<float> pre(static_cast<size_t>(s) * h);
    pre_classifier_->forward(cls.data(), s, pre.data(), pool);
    for (float& v : pre) v = std::max(v, 0.0f);
    emit(sink, "pre_classifier", pre, h);
    std::vector<float> logits(static_cast<size_t>(s) * num_labels_);
    classifier_->forward(pre.data(), s, logits.data(), pool);
    emit(sink, "logits", logits, num_labels_);
    return logits;
  }

 private:
  PostLnShape shape_;
  EmbeddingWeights embeddings_;
  std::vector<PostLnLayerWeights> layers_;
  LinearPtr pre_classifier_;
  LinearPtr classifier_;
  int num_labels_ = 0;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_distilbert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<DistilBert>(model, weights);
}

}  // namespace qp
