// BERT (BertModel, BertForSequenceClassification; MiniLM and most
// sentence-transformers are BERT). Head: pooler tanh(W·h[CLS]) → classifier.
#include "core/error.h"
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

class Bert final : public EncoderModel {
 public:
  Bert(const ModelDir& model, const WeightStore& weights)
      // BertForSequenceClassification nests the encoder under "bert."; BertModel does not.
      : body_(BertBody::load(model, weights,
                             weights.find("bert.embeddings.word_embeddings.weight") ? "bert." : "", 0)) {
    const int h = body_.config.layer.hidden;
    const std::string pooler =
        weights.find("bert.pooler.dense.weight") ? "bert.pooler.dense" : "pooler.dense";
    head_ =
        load_first_token_head(weights, pooler, "classifier", h, FirstTokenHead::Activation::Tanh, "pooler");
    info_ = {"bert",
             h,
             body_.config.layers,
             body_.config.layer.heads,
             body_.config.max_positions,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    return body_.encode(batch, pool, sink);
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this BERT model has no classification head (no classifier.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  BertBody body_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Bert>(model, weights);
}

}  // namespace qp
