// BERT (BertModel, BertForSequenceClassification; MiniLM and most
// sentence-transformers are BERT): the body under "bert." (or no prefix in a
// bare BertModel), absolute positions from 0, and the head pooler
// tanh(W·h[CLS]) → classifier.
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

BertFamilySpec bert_spec(const WeightStore& weights) {
  const bool nested = weights.find("bert.embeddings.word_embeddings.weight") != nullptr;
  const std::string prefix = nested ? "bert." : "";
  // The MLM / pre-training heads of bert-base-style checkpoints: not used here.
  return {"bert", prefix, 0, prefix + "pooler.dense", "", "classifier", {"cls."}};
}

}  // namespace

TensorTable declare_bert(const ModelDir& model, const WeightStore& weights) {
  return bert_family_tensors(model, bert_spec(weights));
}

std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights) {
  return create_bert_family(model, weights, bert_spec(weights));
}

}  // namespace qp
