// RoBERTa and XLM-RoBERTa: BERT's body under "roberta.", positions numbered
// from padding_idx + 1, and a head dense → tanh → out_proj on h[<s>] (no pooler).
// Position ids: Hugging Face counts only non-padding tokens; sequences here
// carry no padding, so position = padding_idx + 1 + index. (A pad id inside a
// sequence would be numbered differently by HF; tokenizers never emit one.)
#include "core/error.h"
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

class Roberta final : public EncoderModel {
 public:
  Roberta(const ModelDir& model, const WeightStore& weights)
      : body_(BertBody::load(model, weights,
                             weights.find("roberta.embeddings.word_embeddings.weight") ? "roberta." : "",
                             config_int_or(model, "pad_token_id", 1) + 1)) {
    const int h = body_.config.layer.hidden;
    head_ = load_first_token_head(weights, "classifier.dense", "classifier.out_proj", h,
                                  FirstTokenHead::Activation::Tanh, "head.dense");
    info_ = {"roberta",
             h,
             body_.config.layers,
             body_.config.layer.heads,
             body_.config.max_positions - body_.embeddings.position_offset,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    return body_.encode(batch, pool, sink);
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this RoBERTa model has no classification head (no classifier.out_proj.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  BertBody body_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Roberta>(model, weights);
}

}  // namespace qp
