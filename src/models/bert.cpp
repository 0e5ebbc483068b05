// BERT (BertModel, BertForSequenceClassification; MiniLM and most
// sentence-transformers are BERT). Head: pooler tanh(W·h[CLS]) → classifier.
#include <cmath>

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
    if (const TensorView* classifier = weights.find("classifier.weight")) {
      if (classifier->shape.size() != 2 || classifier->shape[1] != h)
        fail(weights.dir().string(), ": classifier.weight has shape ", shape_string(classifier->shape),
             ", expected [num_labels, ", h, "]");
      num_labels_ = static_cast<int>(classifier->shape[0]);
      const std::string prefix = weights.find("bert.pooler.dense.weight") ? "bert." : "";
      pooler_ = load_linear(weights, prefix + "pooler.dense", h, h);
      classifier_ = load_linear(weights, "classifier", num_labels_, h);
    }
    info_ = {"bert",     h, body_.config.layers, body_.config.layer.heads, body_.config.max_positions,
             num_labels_};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    return body_.encode(batch, pool, sink);
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!classifier_) fail("this BERT model has no classification head (no classifier.weight)");
    const int h = body_.config.layer.hidden, s = batch.num_sequences();
    const std::vector<float> cls = first_token_rows(hidden, h, batch);
    std::vector<float> pooled(static_cast<size_t>(s) * h);
    pooler_->forward(cls.data(), s, pooled.data(), pool);
    for (float& v : pooled) v = std::tanh(v);
    emit(sink, "pooler", pooled, h);
    std::vector<float> logits(static_cast<size_t>(s) * num_labels_);
    classifier_->forward(pooled.data(), s, logits.data(), pool);
    emit(sink, "logits", logits, num_labels_);
    return logits;
  }

 private:
  BertBody body_;
  LinearPtr pooler_;
  LinearPtr classifier_;
  int num_labels_ = 0;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Bert>(model, weights);
}

}  // namespace qp
