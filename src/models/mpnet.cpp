// MPNet (MPNetModel, MPNetForSequenceClassification, and sentence-transformers
// models such as all-mpnet-base-v2): BERT-shaped post-LN layers under MPNet's
// tensor names, absolute positions numbered like RoBERTa's, no token types,
// and a relative attention bias: one table [buckets × heads]
// (encoder.relative_attention_bias) shared by every layer, looked up by the
// bucket of key − query and added to the scaled scores (a ScoreHook).
#include <algorithm>

#include "core/error.h"
#include "core/json_read.h"
#include "models/blocks.h"
#include "models/registry.h"
#include "models/relative_position.h"
#include "models/score_bias.h"

namespace qp {
namespace {

// transformers' MPNetEmbeddings fixes padding_idx at 1 whatever pad_token_id
// says, and numbers positions from padding_idx + 1 (sequences here carry no
// padding, so position = 2 + index).
constexpr int kFirstPosition = 2;
// MPNetEncoder.compute_position_bias buckets into 32 (its default argument)
// whatever relative_attention_num_buckets says, over distances up to 128.
constexpr int kBuckets = 32;
constexpr int kMaxDistance = 128;

struct MpnetConfig {
  LayerShape layer;
  int layers = 0, vocab = 0, max_positions = 0;
  int table_rows = 0;  // relative_attention_num_buckets
  std::string prefix;  // "mpnet." or "" (a bare MPNetModel, as sentence-transformers save it)
};

MpnetConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  MpnetConfig c;
  c.layer = {config_int(model, "hidden_size"), config_int(model, "num_attention_heads"),
             config_int(model, "intermediate_size"), read_layer_norm_eps(model, "layer_norm_eps", 1e-12)};
  c.layers = config_int(model, "num_hidden_layers");
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int_or(model, "max_position_embeddings", 512);
  if (c.layer.hidden % c.layer.heads != 0)
    fail(where, ": hidden_size ", c.layer.hidden, " is not divisible by num_attention_heads ", c.layer.heads);
  const std::string activation = config_string_or(model, "hidden_act", "gelu");
  if (activation != "gelu")
    fail(where, ": key 'hidden_act' is ", json_excerpt(activation), ", not supported (only exact \"gelu\")");
  c.table_rows = config_int_or(model, "relative_attention_num_buckets", kBuckets);
  if (c.table_rows < kBuckets)
    fail(where, ": key 'relative_attention_num_buckets' is ", c.table_rows, "; MPNet looks up ", kBuckets,
         " buckets, so the table needs at least ", kBuckets, " rows");
  c.prefix = weights.find("mpnet.embeddings.word_embeddings.weight") ? "mpnet." : "";
  return c;
}

TensorTable mpnet_tensors(const MpnetConfig& c) {
  using R = TensorRole;
  const int64_t h = c.layer.hidden;
  const std::string& p = c.prefix;
  TensorTable t;
  t.add(p + "embeddings.word_embeddings", R::WordEmbeddings, {c.vocab, h}, -1, false);
  t.add(p + "embeddings.position_embeddings", R::PositionEmbeddings, {c.max_positions, h}, -1, false);
  t.add(p + "embeddings.LayerNorm", R::EmbeddingNorm, {h});
  t.add(p + "encoder.relative_attention_bias", R::RelativePositions, {c.table_rows, c.layer.heads}, -1,
        false);
  declare_layers(
      t, p,
      {"encoder.layer.", "attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
       "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"},
      c.layers, c.layer);
  // MPNetModel's pooler (sentence-transformers checkpoints hold it) is not used.
  t.add(p + "pooler.dense", R::Pooler, {h, h}, -1, true, false);
  t.add("classifier.dense", R::HeadDense, {h, h}, -1, true, false);
  t.add("classifier.out_proj", R::HeadOut, {kAnyDim, h}, -1, true, false);
  t.ignored_prefixes = {"lm_head.", p + "embeddings.position_ids"};
  return t;
}

// The whole table as fp32.
std::vector<float> load_bias_table(const WeightStore& weights, const TensorDecl& decl, int rows, int heads) {
  const EmbeddingTable table = EmbeddingTable::load(weights, decl.weight(), rows, heads);
  std::vector<float> values(static_cast<size_t>(rows) * heads, 0.0f);
  for (int r = 0; r < rows; ++r) table.add_row(r, &values[static_cast<size_t>(r) * heads]);
  return values;
}

// The same bias in every layer: table[bucket(j − i)][head].
class MpnetBias final : public ScoreHook {
 public:
  MpnetBias(const std::vector<float>& table, int heads)
      : table_(table), heads_(heads), buckets_(mpnet_buckets_saturated(kBuckets, kMaxDistance)) {}
  void add_bias(const ScoreContext& context, int seq, int head, int first_query, int query_count,
                float* scores) const override {
    add_mpnet_score_bias(table_, heads_, head, buckets_, context.batch->length(seq), first_query, query_count,
                         scores);
  }

 private:
  const std::vector<float>& table_;
  int heads_;
  std::vector<int32_t> buckets_;  // by key − query offset, for every length
};

class MpNet final : public EncoderModel {
 public:
  MpNet(const ModelDir& model, const WeightStore& weights)
      : config_(read_config(model, weights)), hook_(bias_table_, config_.layer.heads) {
    const MpnetConfig& c = config_;
    const TensorTable table = mpnet_tensors(c);
    refuse_extra_layers(weights, cat(c.prefix, "encoder.layer.", c.layers, ".attention.attn.q.weight"), model,
                        "num_hidden_layers", c.layers);
    check_tensors(table, weights, "mpnet");
    const int h = c.layer.hidden;
    embeddings_ =
        load_embeddings(weights, table, h, c.vocab, c.max_positions, 0, kFirstPosition, c.layer.eps);
    layers_ = load_layers(weights, table, c.layers, c.layer);
    bias_table_ =
        load_bias_table(weights, table.require(TensorRole::RelativePositions), c.table_rows, c.layer.heads);
    head_ = load_first_token_head(weights, table, TensorRole::HeadDense, h, FirstTokenHead::Activation::Tanh,
                                  "head.dense");
    info_ = {"mpnet",
             h,
             c.layers,
             c.layer.heads,
             c.max_positions - kFirstPosition,
             c.vocab,
             head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    // MPNet has no token type embeddings: embed_tokens ignores the segment
    // numbers a pair post-processor gives, as it does for every such model.
    std::vector<float> hidden = embed_tokens(embeddings_, batch, pool, sink);
    run_layers(layers_, config_.layer, batch, hidden, pool, sink, [this](int) { return &hook_; });
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this MPNet model has no classification head (no classifier.out_proj.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  MpnetConfig config_;
  std::vector<float> bias_table_;  // [table_rows × heads]
  MpnetBias hook_;
  EmbeddingWeights embeddings_;
  std::vector<TransformerLayer> layers_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_mpnet(const ModelDir& model, const WeightStore& weights) {
  return mpnet_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_mpnet(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<MpNet>(model, weights);
}

}  // namespace qp
