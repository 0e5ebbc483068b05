// RoBERTa and XLM-RoBERTa: BERT's body under "roberta.", positions numbered
// from padding_idx + 1, and a head classifier.dense → tanh → out_proj on h[<s>]
// (the pooler, which RobertaModel checkpoints may hold, is not used). Position
// ids: Hugging Face counts only non-padding tokens; sequences here carry no
// padding, so position = padding_idx + 1 + index. (A pad id inside a sequence
// would be numbered differently by HF; tokenizers never emit one.)
#include "models/bert_body.h"
#include "models/registry.h"

namespace qp {
namespace {

BertFamilySpec roberta_spec(const ModelDir& model, const WeightStore& weights) {
  const bool nested = weights.find("roberta.embeddings.word_embeddings.weight") != nullptr;
  const std::string prefix = nested ? "roberta." : "";
  return {"roberta",
          prefix,
          config_int_or(model, "pad_token_id", 1) + 1,
          prefix + "pooler.dense",
          "classifier.dense",
          "classifier.out_proj",
          {"lm_head."}};
}

}  // namespace

TensorTable declare_roberta(const ModelDir& model, const WeightStore& weights) {
  return bert_family_tensors(model, roberta_spec(model, weights));
}

std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights) {
  return create_bert_family(model, weights, roberta_spec(model, weights));
}

}  // namespace qp
