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
    fail(where, ": position_embedding_type ", json_excerpt(position_type), " is not supported (only \"absolute\")");
  return p;
}

namespace {
PostLnLayerNames layer_names(const std::string& prefix, int i) {
  const std::string l = prefix + "encoder.layer." + std::to_string(i) + ".";
  return {l + "attention.self.query",
          l + "attention.self.key",
          l + "attention.self.value",
          l + "attention.output.dense",
          l + "attention.output.LayerNorm",
          l + "intermediate.dense",
          l + "output.dense",
          l + "output.LayerNorm"};
}
}  // namespace

BertBody BertBody::load(const ModelDir& model, const WeightStore& weights, const std::string& prefix,
                        int position_offset) {
  BertBody body;
  body.config = read_bert_body_config(model);
  const BertBodyConfig& c = body.config;
  const int h = c.layer.hidden;
  EmbeddingWeights& e = body.embeddings;
  e.hidden = h;
  e.vocab = c.vocab;
  e.max_positions = c.max_positions;
  e.type_vocab = c.type_vocab;
  e.position_offset = position_offset;
  e.word = EmbeddingTable::load(weights, prefix + "embeddings.word_embeddings.weight", c.vocab, h);
  e.position =
      EmbeddingTable::load(weights, prefix + "embeddings.position_embeddings.weight", c.max_positions, h);
  e.token_type =
      EmbeddingTable::load(weights, prefix + "embeddings.token_type_embeddings.weight", c.type_vocab, h);
  e.norm = load_layer_norm(weights, prefix + "embeddings.LayerNorm", h, c.layer.eps);
  for (int i = 0; i < c.layers; ++i)
    body.layers.push_back(load_post_ln_layer(weights, layer_names(prefix, i), c.layer));
  refuse_extra_layers(weights, layer_names(prefix, c.layers).query + ".weight", model, "num_hidden_layers",
                      c.layers);
  return body;
}

std::vector<float> BertBody::encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const {
  std::vector<float> hidden = embed_tokens(embeddings, batch, pool, sink);
  run_post_ln_stack(layers, config.layer, batch, hidden, pool, sink);
  return hidden;
}

void run_post_ln_stack(const std::vector<PostLnLayerWeights>& layers, const PostLnShape& shape,
                       const EncoderBatch& batch, std::vector<float>& hidden, ThreadPool& pool,
                       TensorSink* sink) {
  for (size_t i = 0; i < layers.size(); ++i)
    run_post_ln_layer(layers[i], shape, batch, hidden, pool, sink, static_cast<int>(i));
}

namespace {

class BertFamilyEncoder final : public EncoderModel {
 public:
  BertFamilyEncoder(const ModelDir& model, const WeightStore& weights, const BertFamilySpec& spec)
      : body_(BertBody::load(model, weights, spec.prefix, spec.position_offset)) {
    const int h = body_.config.layer.hidden;
    head_ = load_first_token_head(weights, spec.head_dense, spec.head_out, h,
                                  FirstTokenHead::Activation::Tanh, spec.head_dense_name);
    missing_head_ =
        cat("this ", spec.architecture, " model has no classification head (no ", spec.head_out, ".weight)");
    info_ = {spec.architecture,
             h,
             body_.config.layers,
             body_.config.layer.heads,
             body_.config.max_positions - spec.position_offset,
             body_.config.vocab,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    return body_.encode(batch, pool, sink);
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail(missing_head_);
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  BertBody body_;
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
