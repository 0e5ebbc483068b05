// Tiny random BERT models in Hugging Face layout, made by code for tests and
// demos: config.json, model.safetensors (HF tensor names and shapes from the
// architecture's tensor table, models/registry.h; here in models/ because it
// reads that table, while io/ stays below models/), vocab.txt,
// tokenizer_config.json, special_tokens_map.json and, when asked, the
// sentence-transformers files (modules.json, 1_Pooling/config.json with mean
// pooling, Normalize). Weights are pseudo-random from the seed, identical on
// every machine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qp {

struct TinyBertSpec {
  int hidden = 32;
  int layers = 2;
  int heads = 4;
  int intermediate = 64;
  int vocab = 0;  // 0: the whole built-in word list; else its first `vocab` entries (>= 5 specials)
  int max_positions = 64;
  int num_labels = 0;  // > 0: BertForSequenceClassification with LABEL_i labels; 0: BertModel
  bool sentence_transformer = false;
  uint64_t seed = 1234;
  DType dtype = DType::F32;  // F32 or F16
};

// The built-in WordPiece vocabulary: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4,
// then punctuation, digits, letters, ## pieces and common lowercase English words.
const std::vector<std::string>& tiny_bert_vocab();

// Writes the model directory atomically (built in "<dir>.tmp-XXXXXX", then renamed).
// dir must not exist or be empty; throws qp::Error naming the path otherwise.
void write_tiny_bert(const std::filesystem::path& dir, const TinyBertSpec& spec);

}  // namespace qp
