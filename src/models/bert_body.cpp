#include "models/bert_body.h"

#include "core/error.h"
#include "core/json_read.h"

namespace qp {

BertBodyConfig read_bert_body_config(const ModelDir& model) {
  BertBodyConfig p;
  p.layer.hidden = config_int(model, "hidden_size");
  p.layer.heads = config_int(model, "num_attention_heads");
  p.layer.intermediate = config_int(model, "intermediate_size");
  p.layer.eps = read_layer_norm_eps(model, "layer_norm_eps", 1e-12);
  p.layers = config_int(model, "num_hidden_layers");
  p.vocab = config_int(model, "vocab_size");
  p.max_positions = config_int_or(model, "max_position_embeddings", 512);
  p.type_vocab = config_int_or(model, "type_vocab_size", 2, 0);
  const std::string where = (model.dir / "config.json").string();
  if (p.layer.heads <= 0 || p.layer.hidden % p.layer.heads != 0)
    fail(where, ": hidden_size ", p.layer.hidden, " is not divisible by num_attention_heads ", p.layer.heads);
  require_gelu_activation(where, config_string_or(model, "hidden_act", "gelu"));
  const std::string position_type = config_string_or(model, "position_embedding_type", "absolute");
  if (position_type != "absolute")
    fail(where, ": position_embedding_type ", json_excerpt(position_type),
         " is not supported (only \"absolute\")");
  return p;
}

void declare_bert_embeddings(TensorTable& table, const BertBodyConfig& c, const std::string& p,
                             int64_t width) {
  using R = TensorRole;
  table.add(p + "embeddings.word_embeddings", R::WordEmbeddings, {c.vocab, width}, -1, false);
  table.add(p + "embeddings.position_embeddings", R::PositionEmbeddings, {c.max_positions, width}, -1, false);
  if (c.type_vocab > 0)
    table.add(p + "embeddings.token_type_embeddings", R::TokenTypeEmbeddings, {c.type_vocab, width}, -1,
              false);
  table.add(p + "embeddings.LayerNorm", R::EmbeddingNorm, {width});
  table.ignored_prefixes.push_back(p + "embeddings.position_ids");
}

const LayerModuleNames& bert_layer_names() {
  static const LayerModuleNames names = {
      "encoder.layer.",       "attention.self.query",   "attention.self.key",
      "attention.self.value", "attention.output.dense", "attention.output.LayerNorm",
      "intermediate.dense",   "output.dense",           "output.LayerNorm"};
  return names;
}

void declare_bert_layers(TensorTable& table, const BertBodyConfig& c, const std::string& p) {
  declare_layers(table, p, bert_layer_names(), c.layers, c.layer);
}

TensorTable bert_family_tensors(const ModelDir& model, const BertFamilySpec& spec) {
  const BertBodyConfig c = read_bert_body_config(model);
  const int64_t h = c.layer.hidden;
  TensorTable table;
  declare_bert_embeddings(table, c, spec.prefix, h);
  declare_bert_layers(table, c, spec.prefix);
  if (!spec.pooler.empty()) table.add(spec.pooler, TensorRole::Pooler, {h, h}, -1, true, false);
  if (!spec.head_dense.empty()) table.add(spec.head_dense, TensorRole::HeadDense, {h, h}, -1, true, false);
  table.add(spec.head_out, TensorRole::HeadOut, {kAnyDim, h}, -1, true, false);
  for (const std::string& prefix : spec.ignored_prefixes) table.ignored_prefixes.push_back(prefix);
  return table;
}

namespace {

class BertFamilyEncoder final : public EncoderModel {
 public:
  BertFamilyEncoder(const ModelDir& model, const WeightStore& weights, const BertFamilySpec& spec)
      : config_(read_bert_body_config(model)) {
    const BertBodyConfig& c = config_;
    const TensorTable table = bert_family_tensors(model, spec);
    refuse_extra_layers(weights, cat(spec.prefix, "encoder.layer.", c.layers, ".attention.self.query.weight"),
                        model, "num_hidden_layers", c.layers);
    check_tensors(table, weights, spec.architecture);
    const int h = c.layer.hidden;
    embeddings_ = load_embeddings(weights, table, h, c.vocab, c.max_positions, c.type_vocab,
                                  spec.position_offset, c.layer.eps);
    layers_ = load_layers(weights, table, c.layers, c.layer);
    const bool own_dense = !spec.head_dense.empty();
    head_ = load_first_token_head(weights, table, own_dense ? TensorRole::HeadDense : TensorRole::Pooler, h,
                                  FirstTokenHead::Activation::Tanh, own_dense ? "head.dense" : "pooler");
    missing_head_ =
        cat("this ", spec.architecture, " model has no classification head (no ", spec.head_out, ".weight)");
    info_ = {spec.architecture,
             h,
             c.layers,
             c.layer.heads,
             c.max_positions - spec.position_offset,
             c.vocab,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    run_layers(layers_, config_.layer, batch, hidden, pool, sink);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail(missing_head_);
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  BertBodyConfig config_;
  EmbeddingWeights embeddings_;
  std::vector<TransformerLayer> layers_;
  std::unique_ptr<FirstTokenHead> head_;
  std::string missing_head_;
  EncoderInfo info_;
};

}  // namespace

std::unique_ptr<EncoderModel> create_bert_family(const ModelDir& model, const WeightStore& weights,
                                                 const BertFamilySpec& spec) {
  return std::make_unique<BertFamilyEncoder>(model, weights, spec);
}

}  // namespace qp
