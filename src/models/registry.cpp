#include "models/registry.h"

#include "core/error.h"
#include "core/json_read.h"

namespace qp {

const std::vector<ArchitectureEntry>& architecture_registry() {
  static const std::vector<ArchitectureEntry> entries = {
      {"bert", "BERT, MiniLM and BERT-based sentence-transformers", create_bert},
      {"distilbert", "DistilBERT", create_distilbert},
      {"roberta", "RoBERTa", create_roberta},
      {"xlm-roberta", "XLM-RoBERTa (RoBERTa blocks)", create_roberta},
  };
  return entries;
}

std::unique_ptr<EncoderModel> create_encoder(const ModelDir& model, const WeightStore& weights) {
  std::string supported;
  for (const ArchitectureEntry& entry : architecture_registry()) {
    if (entry.model_type == model.model_type) return entry.create(model, weights);
    supported += (supported.empty() ? "" : ", ") + std::string(entry.model_type);
  }
  fail((model.dir / "config.json").string(), ": model_type ", json_excerpt(model.model_type),
       " is not supported (supported: ", supported, ")");
}

}  // namespace qp
