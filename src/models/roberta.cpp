// RoBERTa and XLM-RoBERTa: BERT's body under "roberta.", positions numbered
// from padding_idx + 1, and a head dense → tanh → out_proj on h[<s>] (no pooler).
// Position ids: Hugging Face counts only non-padding tokens; sequences here
// carry no padding, so position = padding_idx + 1 + index. (A pad id inside a
// sequence would be numbered differently by HF; tokenizers never emit one.)
#include <cmath>

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
    if (const TensorView* out_proj = weights.find("classifier.out_proj.weight")) {
      if (out_proj->shape.size() != 2 || out_proj->shape[1] != h)
        fail(weights.dir().string(), ": classifier.out_proj.weight has shape ", shape_string(out_proj->shape),
             ", expected [num_labels, ", h, "]");
      num_labels_ = static_cast<int>(out_proj->shape[0]);
      dense_ = load_linear(weights, "classifier.dense", h, h);
      out_proj_ = load_linear(weights, "classifier.out_proj", num_labels_, h);
    }
    info_ = {"roberta",
             h,
             body_.config.layers,
             body_.config.layer.heads,
             body_.config.max_positions - body_.embeddings.position_offset,
             num_labels_};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    return body_.encode(batch, pool, sink);
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!out_proj_) fail("this RoBERTa model has no classification head (no classifier.out_proj.weight)");
    const int h = body_.config.layer.hidden, s = batch.num_sequences();
    const std::vector<float> first = first_token_rows(hidden, h, batch);
    std::vector<float> dense(static_cast<size_t>(s) * h);
    dense_->forward(first.data(), s, dense.data(), pool);
    for (float& v : dense) v = std::tanh(v);
    emit(sink, "head.dense", dense, h);
    std::vector<float> logits(static_cast<size_t>(s) * num_labels_);
    out_proj_->forward(dense.data(), s, logits.data(), pool);
    emit(sink, "logits", logits, num_labels_);
    return logits;
  }

 private:
  BertBody body_;
  LinearPtr dense_;
  LinearPtr out_proj_;
  int num_labels_ = 0;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Roberta>(model, weights);
}

}  // namespace qp
