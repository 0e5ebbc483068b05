#include "models/registry.h"

#include "core/error.h"
#include "core/json_read.h"

namespace qp {

const std::vector<ArchitectureEntry>& architecture_registry() {
  static const std::vector<ArchitectureEntry> entries = {
      {"bert", "BERT, MiniLM and BERT-based sentence-transformers", create_bert, declare_bert},
      {"distilbert", "DistilBERT", create_distilbert, declare_distilbert},
      {"roberta", "RoBERTa", create_roberta, declare_roberta},
      {"xlm-roberta", "XLM-RoBERTa (RoBERTa blocks)", create_roberta, declare_roberta},
      {"electra", "ELECTRA (discriminators, cross-encoders)", create_electra, declare_electra},
      {"mpnet", "MPNet and MPNet sentence-transformers (relative attention bias)", create_mpnet,
       declare_mpnet},
      {"deberta-v2", "DeBERTa-v2 / v3 (disentangled attention, v3 settings)", create_deberta_v2,
       declare_deberta_v2},
      {"modernbert", "ModernBERT (rotary, alternating global / sliding-window attention, GeGLU)",
       create_modernbert, declare_modernbert},
      {"mobilebert", "MobileBERT (bottlenecks, NoNorm, trigram embeddings; rows as if run unpadded)",
       create_mobilebert, declare_mobilebert},
      {"bart", "BART (encoder-decoder; BartForSequenceClassification, e.g. bart-large-mnli)", create_bart,
       declare_bart},
  };
  return entries;
}

namespace {

const ArchitectureEntry& find_architecture(const ModelDir& model) {
  std::string supported;
  for (const ArchitectureEntry& entry : architecture_registry()) {
    if (entry.model_type == model.model_type) return entry;
    supported += (supported.empty() ? "" : ", ") + std::string(entry.model_type);
  }
  fail((model.dir / "config.json").string(), ": model_type ", json_excerpt(model.model_type),
       " is not supported (supported: ", supported, ")");
}

}  // namespace

std::unique_ptr<EncoderModel> create_encoder(const ModelDir& model, const WeightStore& weights) {
  return find_architecture(model).create(model, weights);
}

TensorTable declare_tensors(const ModelDir& model, const WeightStore& weights) {
  return find_architecture(model).declare(model, weights);
}

}  // namespace qp
