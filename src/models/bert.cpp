// BERT (BertModel, BertForSequenceClassification; MiniLM and most
// sentence-transformers are BERT): the body under "bert." (or no prefix in a
// bare BertModel), absolute positions from 0, and the head pooler
// tanh(W·h[CLS]) → classifier.
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {

std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights) {
  const bool nested = weights.find("bert.embeddings.word_embeddings.weight") != nullptr;
  const bool nested_pooler = weights.find("bert.pooler.dense.weight") != nullptr;
  return create_bert_family(model, weights,
                            {"bert", nested ? "bert." : "", 0,
                             nested_pooler ? "bert.pooler.dense" : "pooler.dense", "classifier", "pooler"});
}

}  // namespace qp
