// RoBERTa and XLM-RoBERTa: BERT's body under "roberta.", positions numbered
// from padding_idx + 1, and a head classifier.dense → tanh → out_proj on h[<s>]
// (no pooler). Position ids: Hugging Face counts only non-padding tokens;
// sequences here carry no padding, so position = padding_idx + 1 + index. (A
// pad id inside a sequence would be numbered differently by HF; tokenizers
// never emit one.)
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {

std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights) {
  const bool nested = weights.find("roberta.embeddings.word_embeddings.weight") != nullptr;
  return create_bert_family(model, weights,
                            {"roberta", nested ? "roberta." : "", config_int_or(model, "pad_token_id", 1) + 1,
                             "classifier.dense", "classifier.out_proj", "head.dense"});
}

}  // namespace qp
