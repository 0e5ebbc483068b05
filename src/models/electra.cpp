// ELECTRA (ElectraModel, ElectraForSequenceClassification — the layout of many
// cross-encoders): BERT's embeddings, but `embedding_size` wide and projected to
// the hidden size by embeddings_project when the two differ; BERT's post-LN
// layers under "electra."; and a head classifier.dense → GELU →
// classifier.out_proj on the first token (no pooler).
#include "core/error.h"
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

struct ElectraConfig {
  BertBodyConfig body;
  int embedding_size = 0;
  std::string prefix;  // "electra." or "" (a bare ElectraModel)

  bool projected() const { return embedding_size != body.layer.hidden; }
};

ElectraConfig read_config(const ModelDir& model, const WeightStore& weights) {
  ElectraConfig c;
  c.body = read_bert_body_config(model);
  c.embedding_size = config_int_or(model, "embedding_size", c.body.layer.hidden);
  c.prefix = weights.find("electra.embeddings.word_embeddings.weight") ? "electra." : "";
  return c;
}

TensorTable electra_tensors(const ElectraConfig& c) {
  const int64_t h = c.body.layer.hidden, e = c.embedding_size;
  TensorTable t;
  declare_bert_embeddings(t, c.body, c.prefix, e);
  if (c.projected()) t.add(c.prefix + "embeddings_project", TensorRole::EmbeddingProjection, {h, e});
  declare_bert_layers(t, c.body, c.prefix);
  t.add("classifier.dense", TensorRole::HeadDense, {h, h}, -1, true, false);
  t.add("classifier.out_proj", TensorRole::HeadOut, {kAnyDim, h}, -1, true, false);
  // Pre-training heads (discriminator, generator) that checkpoints may carry.
  t.ignored_prefixes.insert(t.ignored_prefixes.end(),
                            {"discriminator_predictions.", "generator_predictions.", "generator_lm_head."});
  return t;
}

class Electra final : public EncoderModel {
 public:
  Electra(const ModelDir& model, const WeightStore& weights) : config_(read_config(model, weights)) {
    const BertBodyConfig& b = config_.body;
    const TensorTable table = electra_tensors(config_);
    refuse_extra_layers(weights,
                        cat(config_.prefix, "encoder.layer.", b.layers, ".attention.self.query.weight"),
                        model, "num_hidden_layers", b.layers);
    check_tensors(table, weights, "electra");
    const int h = b.layer.hidden, e = config_.embedding_size;
    embeddings_ = load_embeddings(weights, table, e, b.vocab, b.max_positions, b.type_vocab, 0, b.layer.eps);
    if (config_.projected())
      project_ = load_linear(weights, table.require(TensorRole::EmbeddingProjection).module, h, e);
    layers_ = load_layers(weights, table, b.layers, b.layer);
    head_ = load_first_token_head(weights, table, TensorRole::HeadDense, h, FirstTokenHead::Activation::Gelu,
                                  "head.dense");
    info_ = {
        "electra", h, b.layers, b.layer.heads, b.max_positions, b.vocab, head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    if (project_) {
      std::vector<float> projected(static_cast<size_t>(batch.total_tokens()) * config_.body.layer.hidden);
      project_->forward(hidden.data(), batch.total_tokens(), projected.data(), pool);
      emit(sink, "embeddings.project", projected, config_.body.layer.hidden);
      hidden = std::move(projected);
    }
    run_layers(layers_, config_.body.layer, batch, hidden, pool, sink);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this ELECTRA model has no classification head (no classifier.out_proj.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  ElectraConfig config_;
  EmbeddingWeights embeddings_;
  LinearPtr project_;
  std::vector<TransformerLayer> layers_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_electra(const ModelDir& model, const WeightStore& weights) {
  return electra_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_electra(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Electra>(model, weights);
}

}  // namespace qp
