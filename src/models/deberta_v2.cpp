// DeBERTa-v2 with DeBERTa-v3's settings (DebertaV2Model,
// DebertaV2ForSequenceClassification): word embeddings only (no absolute
// positions, no token types), post-LN layers, and disentangled attention: the
// scores q·kᵀ gain a content→position term (c2p: q_i against the key
// projection of the relative embedding of bucket(i − j)) and a
// position→content term (p2c: k_j against the query projection of the
// relative embedding of bucket(j − i)), all scaled by
// 1/√(head_dim · 3). The relative embeddings (encoder.rel_embeddings, 2 ·
// position_buckets rows) pass through encoder.LayerNorm and each layer's own
// query_proj / key_proj (share_att_key); the terms reach the attention through
// a ScoreHook. Head: ContextPooler (pooler.dense on the first token, GELU) →
// classifier.
//
// Any other DeBERTa option is refused by name rather than computed wrong.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_read.h"
#include "models/bert_body.h"
#include "models/registry.h"
#include "models/relative_position.h"
#include "models/score_bias.h"

namespace qp {
namespace {

struct DebertaConfig {
  LayerShape layer;
  int layers = 0, vocab = 0, max_positions = 0;
  int buckets = 0;       // position_buckets: the relative embeddings hold 2 · buckets rows
  int max_relative = 0;  // max_relative_positions, -1 → max_position_embeddings
  std::string prefix;    // "deberta." or "" (a bare DebertaV2Model)
};

class ConfigCheck {
 public:
  explicit ConfigCheck(const ModelDir& model) : model_(model), where_((model.dir / "config.json").string()) {}

  [[noreturn]] void refuse(const std::string& key, const nlohmann::json& value,
                           const std::string& built) const {
    // null: the key is absent and transformers' default is not what is built.
    fail(where_, ": key '", key, "' is ", value.is_null() ? std::string("absent") : json_excerpt(value),
         ", which this engine does not implement for deberta-v2 (it builds ", built, ")");
  }
  void require_bool(const std::string& key, bool fallback, bool wanted, const std::string& built) const {
    if (config_bool_or(model_, key, fallback) == wanted) return;
    if (!model_.config.contains(key))
      fail(where_, ": key '", key, "' is absent, which transformers reads as ", fallback ? "true" : "false",
           "; this engine implements deberta-v2 only with ", built, " ('", key,
           "': ", wanted ? "true" : "false", ")");
    refuse(key, !wanted, built);
  }
  // Keys whose presence means a part this engine does not have (an int > 0).
  void require_absent_or_zero(const std::string& key, const std::string& built) const {
    const auto it = model_.config.find(key);
    if (it != model_.config.end() && !(it->is_number_integer() && it->get<int64_t>() == 0))
      refuse(key, *it, built);
  }
  void require_absent_or(const std::string& key, int wanted, const std::string& built) const {
    const auto it = model_.config.find(key);
    if (it != model_.config.end() && !(it->is_number_integer() && it->get<int64_t>() == wanted))
      refuse(key, *it, built);
  }
  // pos_att_type: a list, or transformers' older "p2c|c2p" string.
  void require_c2p_and_p2c() const {
    const auto it = model_.config.find("pos_att_type");
    if (it == model_.config.end()) refuse("pos_att_type", nullptr, "c2p and p2c");
    std::vector<std::string> types;
    if (it->is_string()) {
      std::string text = it->get<std::string>();  // "p2c|c2p", spaces allowed as transformers strips them
      text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
      for (size_t start = 0, bar; start <= text.size(); start = bar + 1) {
        bar = std::min(text.find('|', start), text.size());
        types.push_back(text.substr(start, bar - start));
      }
    } else if (it->is_array()) {
      for (const auto& t : *it)
        if (t.is_string())
          types.push_back(t.get<std::string>());
        else
          refuse("pos_att_type", *it, "c2p and p2c");
    }
    std::sort(types.begin(), types.end());
    if (types != std::vector<std::string>{"c2p", "p2c"}) refuse("pos_att_type", *it, "c2p and p2c");
  }
  void require_string(const std::string& key, const std::string& fallback, const std::string& wanted,
                      const std::string& built) const {
    const std::string value = config_string_or(model_, key, fallback);
    if (value != wanted) refuse(key, value, built);
  }

 private:
  const ModelDir& model_;
  std::string where_;
};

DebertaConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  DebertaConfig c;
  c.layer.hidden = config_int(model, "hidden_size");
  c.layer.heads = config_int(model, "num_attention_heads");
  c.layer.intermediate = config_int(model, "intermediate_size");
  c.layer.eps = read_layer_norm_eps(model, "layer_norm_eps", 1e-7);
  c.layer.score_scale_factor = 3;  // 1 + c2p + p2c
  c.layers = config_int(model, "num_hidden_layers");
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int_or(model, "max_position_embeddings", 512);
  if (c.layer.hidden % c.layer.heads != 0)
    fail(where, ": hidden_size ", c.layer.hidden, " is not divisible by num_attention_heads ", c.layer.heads);

  // The defaults are DebertaV2Config's, so an absent key means what it means there.
  const ConfigCheck check(model);
  check.require_string("hidden_act", "gelu", "gelu", "exact GELU");
  check.require_bool("relative_attention", false, true, "relative attention only");
  check.require_bool("position_biased_input", true, false, "no absolute position embeddings");
  check.require_bool("share_att_key", false, true,
                     "positions projected with the layer's query_proj / key_proj");
  check.require_c2p_and_p2c();
  check.require_string("norm_rel_ebd", "none", "layer_norm", "relative embeddings normalised by LayerNorm");
  check.require_string("pooler_hidden_act", "gelu", "gelu", "a ContextPooler with exact GELU");
  check.require_absent_or_zero("conv_kernel_size", "no convolution layer");
  check.require_absent_or_zero("type_vocab_size", "no token type embeddings");
  check.require_absent_or("embedding_size", c.layer.hidden, "embeddings as wide as hidden_size");
  check.require_absent_or("attention_head_size", c.layer.hidden / c.layer.heads,
                          "heads of hidden_size / num_attention_heads");
  check.require_absent_or("pooler_hidden_size", c.layer.hidden, "a pooler as wide as hidden_size");
  const auto buckets = model.config.find("position_buckets");
  if (buckets == model.config.end() || !buckets->is_number_integer() || buckets->get<int64_t>() <= 0)
    check.refuse("position_buckets", buckets == model.config.end() ? nlohmann::json(nullptr) : *buckets,
                 "log-bucketed relative positions, position_buckets > 0");
  c.buckets = config_int(model, "position_buckets");
  const auto max_relative = model.config.find("max_relative_positions");
  const int64_t relative = max_relative != model.config.end() && max_relative->is_number_integer()
                               ? max_relative->get<int64_t>()
                               : -1;
  c.max_relative = relative < 1 ? c.max_positions : config_int(model, "max_relative_positions");
  if (c.max_relative <= c.buckets / 2 + 1)
    check.refuse("max_relative_positions", c.max_relative,
                 "max_relative_positions above position_buckets / 2 + 1");
  c.prefix = weights.find("deberta.embeddings.word_embeddings.weight") ? "deberta." : "";
  return c;
}

TensorTable deberta_tensors(const DebertaConfig& c) {
  using R = TensorRole;
  const int64_t h = c.layer.hidden;
  const std::string& p = c.prefix;
  TensorTable t;
  t.add(p + "embeddings.word_embeddings", R::WordEmbeddings, {c.vocab, h}, -1, false);
  t.add(p + "embeddings.LayerNorm", R::EmbeddingNorm, {h});
  t.add(p + "encoder.rel_embeddings", R::RelativePositions, {2 * c.buckets, h}, -1, false);
  t.add(p + "encoder.LayerNorm", R::RelativeNorm, {h});
  LayerModuleNames names = bert_layer_names();  // BERT's, with DeBERTa's projection names
  names.q = "attention.self.query_proj";
  names.k = "attention.self.key_proj";
  names.v = "attention.self.value_proj";
  declare_layers(t, p, names, c.layers, c.layer);
  t.add("pooler.dense", R::Pooler, {h, h}, -1, true, false);
  t.add("classifier", R::HeadOut, {kAnyDim, h}, -1, true, false);
  // Pre-training heads, a buffer, and the absolute table transformers ignores
  // when position_biased_input is false.
  t.ignored_prefixes = {"lm_predictions.", "mask_predictions.", "cls.", p + "embeddings.position_ids",
                        p + "embeddings.position_embeddings"};
  return t;
}

// The ContextPooler and classifier: classifier(GELU(pooler.dense(h[first]))).
struct ContextPoolerHead {
  LinearPtr dense, out;

  std::vector<float> logits(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                            TensorSink* sink) const {
    const int s = batch.num_sequences();
    const std::vector<float> first = first_token_rows(hidden, dense->k(), batch);
    std::vector<float> pooled(static_cast<size_t>(s) * dense->n());
    dense->forward(first.data(), s, pooled.data(), pool, kernels::Epilogue::Gelu);
    emit(sink, "pooler", pooled, dense->n());
    std::vector<float> result(static_cast<size_t>(s) * out->n());
    out->forward(pooled.data(), s, result.data(), pool);
    emit(sink, "logits", result, out->n());
    return result;
  }
};

// c2p + p2c of one (sequence, head) from the layer's projected queries and
// keys and its projections of the relative embeddings.
class DisentangledBias final : public ScoreHook {
 public:
  DisentangledBias(const DebertaConfig& config, const std::vector<std::vector<float>>& positions)
      : config_(config),
        positions_(positions),
        rel_(deberta_positions_saturated(config.buckets, config.max_relative, config.buckets)) {}

  void add_bias(const ScoreContext& context, int seq, int head, int first_query, int query_count,
                float* scores) const override {
    const int length = context.batch->length(seq), h = config_.layer.hidden;
    const size_t first = static_cast<size_t>(context.batch->seq_offsets[seq]) * context.ld;
    const std::vector<float>& pos = positions_[context.layer];
    const DebertaBiasInputs in{context.q + first, context.k + first, context.ld,
                               pos.data(),        pos.data() + h,    2 * h,
                               context.head_dim,  config_.buckets};
    const float scale = 1.0f / std::sqrt(context.head_dim * config_.layer.score_scale_factor);
    add_deberta_score_bias(in, head, rel_, length, first_query, query_count, scale, scores);
  }

 private:
  const DebertaConfig& config_;
  const std::vector<std::vector<float>>& positions_;
  std::vector<int32_t> rel_;  // by query − key offset, for every length
};

class DebertaV2 final : public EncoderModel {
 public:
  DebertaV2(const ModelDir& model, const WeightStore& weights)
      : config_(read_config(model, weights)), hook_(config_, positions_) {
    const DebertaConfig& c = config_;
    const TensorTable table = deberta_tensors(c);
    refuse_extra_layers(weights,
                        cat(c.prefix, "encoder.layer.", c.layers, ".attention.self.query_proj.weight"), model,
                        "num_hidden_layers", c.layers);
    check_tensors(table, weights, "deberta-v2");
    const int h = c.layer.hidden;
    word_ = EmbeddingTable::load(weights, table.require(TensorRole::WordEmbeddings).weight(), c.vocab, h);
    embedding_norm_ = load_norm(weights, table.require(TensorRole::EmbeddingNorm), h, c.layer.eps);
    layers_ = load_layers(weights, table, c.layers, c.layer);
    project_relative_embeddings(weights, table);
    const TensorDecl& out = table.require(TensorRole::HeadOut);
    if (const TensorView* view = weights.find(out.weight())) {
      const int labels = view->shape.size() == 2 ? static_cast<int>(view->shape[0]) : 0;
      if (labels <= 0)
        fail(weights.dir().string(), ": ", out.weight(), " has shape ", shape_string(view->shape),
             ", expected [num_labels, ", h, "]");
      const TensorDecl& pooler = table.require(TensorRole::Pooler);
      if (!weights.find(pooler.weight()))
        fail(weights.dir().string(), ": the classification head has ", out.weight(), " but not ",
             pooler.weight());
      head_ = std::make_unique<ContextPoolerHead>(ContextPoolerHead{
          load_linear(weights, pooler.module, h, h), load_linear(weights, out.module, labels, h)});
    }
    info_ = {"deberta-v2", h, c.layers, c.layer.heads, c.max_positions, c.vocab, head_ ? head_->out->n() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed(batch, pool, sink);
    run_layers(layers_, config_.layer, batch, hidden, pool, sink, [this](int) { return &hook_; });
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this DeBERTa-v2 model has no classification head (no classifier.weight)");
    return head_->logits(batch, hidden, pool, sink);
  }

 private:
  // LayerNorm(rel_embeddings) through each layer's query_proj and key_proj,
  // once: they depend on the weights alone. positions_[layer] holds
  // [2·buckets × (q | k)].
  void project_relative_embeddings(const WeightStore& weights, const TensorTable& table) {
    const int h = config_.layer.hidden, rows = 2 * config_.buckets;
    const EmbeddingTable relative_table =
        EmbeddingTable::load(weights, table.require(TensorRole::RelativePositions).weight(), rows, h);
    std::vector<float> relative(static_cast<size_t>(rows) * h, 0.0f);
    for (int r = 0; r < rows; ++r) relative_table.add_row(r, &relative[static_cast<size_t>(r) * h]);
    const LayerNormParams norm =
        load_norm(weights, table.require(TensorRole::RelativeNorm), h, config_.layer.eps);
    ThreadPool pool(1);
    kernels::add_layer_norm(relative.data(), nullptr, relative.data(), rows, h, norm.gamma.data(),
                            norm.beta.data(), norm.eps, pool);
    std::vector<float> qkv(static_cast<size_t>(rows) * 3 * h);
    for (const TransformerLayer& layer : layers_) {
      layer.attention.qkv->forward(relative.data(), rows, qkv.data(), pool);
      std::vector<float>& qk = positions_.emplace_back(static_cast<size_t>(rows) * 2 * h);
      for (int r = 0; r < rows; ++r)
        std::copy_n(&qkv[static_cast<size_t>(r) * 3 * h], 2 * h, &qk[static_cast<size_t>(r) * 2 * h]);
    }
  }

  // Word embeddings then LayerNorm: [T × hidden]. No position limit: the
  // positions are relative and log-bucketed.
  std::vector<float> embed(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const {
    const int h = config_.layer.hidden;
    std::vector<float> out(static_cast<size_t>(batch.total_tokens()) * h, 0.0f);
    for (int t = 0; t < batch.total_tokens(); ++t) {
      if (batch.input_ids[t] < 0 || batch.input_ids[t] >= config_.vocab)
        fail("token id ", batch.input_ids[t], " is outside the vocabulary of ", config_.vocab);
      word_.add_row(batch.input_ids[t], &out[static_cast<size_t>(t) * h]);
    }
    emit(sink, "embeddings.sum", out, h);
    kernels::add_layer_norm(out.data(), nullptr, out.data(), batch.total_tokens(), h,
                            embedding_norm_.gamma.data(), embedding_norm_.beta.data(), embedding_norm_.eps,
                            pool);
    emit(sink, "embeddings.norm", out, h);
    return out;
  }

  DebertaConfig config_;
  std::vector<std::vector<float>> positions_;  // per layer, see project_relative_embeddings
  DisentangledBias hook_;
  EmbeddingTable word_;
  LayerNormParams embedding_norm_;
  std::vector<TransformerLayer> layers_;
  std::unique_ptr<ContextPoolerHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_deberta_v2(const ModelDir& model, const WeightStore& weights) {
  return deberta_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_deberta_v2(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<DebertaV2>(model, weights);
}

}  // namespace qp
