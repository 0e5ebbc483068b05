// The encoder body that BERT and RoBERTa share: the same config.json keys
// (RobertaConfig extends BertConfig), the same tensor names under a prefix
// ("bert." / "roberta." / none), and the same post-LN layers. Heads and
// position numbering stay in each architecture's own file.
#pragma once

#include <string>
#include <vector>

#include "io/model_dir.h"
#include "models/blocks.h"
#include "models/encoder.h"

namespace qp {

struct BertBodyConfig {
  PostLnShape layer;
  int layers = 0;
  int vocab = 0;
  int max_positions = 0;
  int type_vocab = 0;
};

BertBodyConfig read_bert_body_config(const ModelDir& model);

struct BertBody {
  BertBodyConfig config;
  EmbeddingWeights embeddings;
  std::vector<PostLnLayerWeights> layers;

  // Loads "<prefix>embeddings.*" and "<prefix>encoder.layer.N.*".
  static BertBody load(const ModelDir& model, const WeightStore& weights, const std::string& prefix,
                       int position_offset);

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const;
};

// What distinguishes one BERT-family architecture from another: where its
// tensors live, where positions start, and the names of its head.
struct BertFamilySpec {
  std::string architecture;  // "bert", "roberta"
  std::string prefix;        // of the body's tensors in this checkpoint ("bert.", "roberta." or "")
  int position_offset = 0;   // first position id
  std::string head_dense, head_out, head_dense_name;
};

// An EncoderModel made of a BertBody and an optional FirstTokenHead (tanh).
std::unique_ptr<EncoderModel> create_bert_family(const ModelDir& model, const WeightStore& weights,
                                                 const BertFamilySpec& spec);

// Runs the post-LN layers over embedded tokens.
void run_post_ln_stack(const std::vector<PostLnLayerWeights>& layers, const PostLnShape& shape,
                       const EncoderBatch& batch, std::vector<float>& hidden, ThreadPool& pool,
                       TensorSink* sink);

}  // namespace qp
