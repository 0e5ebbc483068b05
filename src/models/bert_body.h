// The encoder body that BERT and RoBERTa share: the same config.json keys
// (RobertaConfig extends BertConfig), the same tensor names under a prefix
// ("bert." / "roberta." / none), and the same post-LN layers. Heads and
// position numbering stay in each architecture's own file, as a spec.
#pragma once

#include <string>
#include <vector>

#include "io/model_dir.h"
#include "models/blocks.h"
#include "models/encoder.h"
#include "models/tensor_table.h"

namespace qp {

struct BertBodyConfig {
  LayerShape layer;
  int layers = 0;
  int vocab = 0;
  int max_positions = 0;
  int type_vocab = 0;
};

BertBodyConfig read_bert_body_config(const ModelDir& model);

// What distinguishes one BERT-family architecture from another: where its
// tensors live, where positions start, its head, and what else its
// checkpoints may hold.
struct BertFamilySpec {
  std::string architecture;  // "bert", "roberta"
  std::string prefix;        // of the body's tensors in this checkpoint ("bert.", "roberta." or "")
  int position_offset = 0;   // first position id
  std::string pooler;        // the pooler module ("" when the architecture has none)
  std::string head_dense;    // the head's own dense module before head_out ("" when the pooler serves)
  std::string head_out;      // the module giving the logits
  std::vector<std::string> ignored_prefixes;  // MLM heads and buffers, after the body prefix is known
};

// The embeddings, layers (post-LN), optional pooler and head of a BERT-family checkpoint.
TensorTable bert_family_tensors(const ModelDir& model, const BertFamilySpec& spec);

// The embedding tensors under `prefix` as BERT names them, `width` wide
// (the hidden size; ELECTRA's embedding_size).
void declare_bert_embeddings(TensorTable& table, const BertBodyConfig& config, const std::string& prefix,
                             int64_t width);
// How BERT names a layer's modules (DeBERTa and others start from it).
const LayerModuleNames& bert_layer_names();

// The post-LN layers under `prefix`, as BERT names them.
void declare_bert_layers(TensorTable& table, const BertBodyConfig& config, const std::string& prefix);

// An EncoderModel made of the body and an optional FirstTokenHead (tanh).
std::unique_ptr<EncoderModel> create_bert_family(const ModelDir& model, const WeightStore& weights,
                                                 const BertFamilySpec& spec);

}  // namespace qp
