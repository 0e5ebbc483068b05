// MobileBERT (MobileBertModel, MobileBertForSequenceClassification):
// - embeddings: word embeddings `embedding_size` wide; with trigram_input each
//   token's row is [next token, this token, previous token] (zeros past either
//   end of the sequence), projected to the hidden size by
//   embedding_transformation; plus positions and token types, then the norm;
// - norms: NoNorm (x·weight + bias) for normalization_type "no_norm", else LayerNorm;
// - each layer works at the narrower true_hidden_size (intra_bottleneck_size):
//   bottleneck.input projects the layer input down; queries and keys come from
//   bottleneck.attention's projection (key_query_shared_bottleneck) or the
//   bottlenecked input (use_bottleneck_attention), values from the layer input
//   (or the bottlenecked input); the attention output adds the bottlenecked
//   input; num_feedforward_networks FFNs (relu) follow, each adding its input;
//   output.bottleneck projects back to the hidden size, adding the layer input;
// - head: the first token, through pooler.dense + tanh only with
//   classifier_activation, → classifier.
//
// Padding: Hugging Face runs padded batches, where the trigram of a row's last
// real token holds the [PAD] embedding after it instead of zeros, so its
// outputs depend on how much the batch pads. This engine runs each sequence
// unpadded: it matches Hugging Face run on each row alone (the oracle's
// `unpadded_rows`), not a padded batch.
//
// The layer is not a TransformerLayer (different widths in and out of
// attention, queries and values from different inputs, several FFNs): it is
// built from LinearNorm pieces (layer_parts.h) and kernels::attention.
// Options this file does not build are refused by name.
#include <cmath>

#include "core/error.h"
#include "core/json_read.h"
#include "models/blocks.h"
#include "models/registry.h"

namespace qp {
namespace {

// Where a layer's queries and keys, and its values, come from.
enum class AttentionInput { Hidden, Bottlenecked, SharedBottleneck };

struct MobileBertConfig {
  int hidden = 0, inner = 0, heads = 0, intermediate = 0, embedding = 0;
  int layers = 0, ffns = 0, vocab = 0, max_positions = 0, type_vocab = 0;
  float eps = 1e-12f;
  NormKind norm = NormKind::NoNorm;
  bool trigram = true, relu = true, classifier_activation = true;
  AttentionInput query_key = AttentionInput::SharedBottleneck, value = AttentionInput::Hidden;
  std::string prefix;  // "mobilebert." or "" (a bare MobileBertModel)

  int head_dim() const { return inner / heads; }
  int embedded_width() const { return trigram ? 3 * embedding : embedding; }
  bool transformed() const { return trigram || embedding != hidden; }
};

MobileBertConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  const auto refuse = [&](const std::string& key, const std::string& value, const std::string& built) {
    fail(where, ": key '", key, "' is ", value,
         ", which this engine does not implement for mobilebert (it builds ", built, ")");
  };
  MobileBertConfig c;
  c.hidden = config_int(model, "hidden_size");
  c.heads = config_int_or(model, "num_attention_heads", 4);
  c.intermediate = config_int_or(model, "intermediate_size", 512);
  c.embedding = config_int_or(model, "embedding_size", 128);
  c.layers = config_int_or(model, "num_hidden_layers", 24);
  c.ffns = config_int_or(model, "num_feedforward_networks", 4);
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int_or(model, "max_position_embeddings", 512);
  c.type_vocab = config_int_or(model, "type_vocab_size", 2, 0);
  c.eps = read_layer_norm_eps(model, "layer_norm_eps", 1e-12);
  c.trigram = config_bool_or(model, "trigram_input", true);
  c.classifier_activation = config_bool_or(model, "classifier_activation", true);
  if (!config_bool_or(model, "use_bottleneck", true))
    refuse("use_bottleneck", "false", "the bottlenecked layer, 'use_bottleneck': true");
  c.inner = config_int_or(model, "intra_bottleneck_size", 128);
  // MobileBertConfig sets true_hidden_size = intra_bottleneck_size when bottlenecked.
  if (model.config.contains("true_hidden_size") && config_int(model, "true_hidden_size") != c.inner)
    refuse("true_hidden_size", std::to_string(config_int(model, "true_hidden_size")),
           "true_hidden_size = intra_bottleneck_size " + std::to_string(c.inner));
  if (config_bool_or(model, "use_bottleneck_attention", false)) {
    c.query_key = c.value = AttentionInput::Bottlenecked;
  } else if (!config_bool_or(model, "key_query_shared_bottleneck", true)) {
    // Queries and keys from the hidden_size-wide input into true_hidden_size-wide projections.
    refuse("key_query_shared_bottleneck", "false (with use_bottleneck_attention false)",
           "queries and keys from a bottleneck");
  }
  const std::string norm = config_string_or(model, "normalization_type", "no_norm");
  if (norm == "layer_norm")
    c.norm = NormKind::LayerNorm;
  else if (norm != "no_norm")
    refuse("normalization_type", json_excerpt(norm), "\"no_norm\" or \"layer_norm\"");
  const std::string act = config_string_or(model, "hidden_act", "relu");
  if (act != "relu" && act != "gelu") refuse("hidden_act", json_excerpt(act), "\"relu\" or \"gelu\"");
  c.relu = act == "relu";
  const std::string position_type = config_string_or(model, "position_embedding_type", "absolute");
  if (position_type != "absolute")
    refuse("position_embedding_type", json_excerpt(position_type), "\"absolute\"");
  if (c.inner % c.heads != 0)
    fail(where, ": intra_bottleneck_size ", c.inner, " is not divisible by num_attention_heads ", c.heads);
  c.prefix = weights.find("mobilebert.embeddings.word_embeddings.weight") ? "mobilebert." : "";
  return c;
}

// One layer's modules as data: declared from it, loaded by its names.
struct LayerModule {
  std::string name;  // relative to "<prefix>encoder.layer.<l>."
  TensorRole role;
  Shape shape;
};

std::vector<LayerModule> layer_modules(const MobileBertConfig& c) {
  using R = TensorRole;
  const int64_t h = c.hidden, b = c.inner, i = c.intermediate;
  std::vector<LayerModule> m = {
      {"bottleneck.input.dense", R::BottleneckIn, {b, h}},
      {"bottleneck.input.LayerNorm", R::BottleneckNorm, {b}},
  };
  if (c.query_key == AttentionInput::SharedBottleneck) {
    m.push_back({"bottleneck.attention.dense", R::BottleneckIn, {b, h}});
    m.push_back({"bottleneck.attention.LayerNorm", R::BottleneckNorm, {b}});
  }
  m.push_back({"attention.self.query", R::AttnQ, {b, b}});
  m.push_back({"attention.self.key", R::AttnK, {b, b}});
  m.push_back({"attention.self.value", R::AttnV, {b, c.value == AttentionInput::Hidden ? h : b}});
  m.push_back({"attention.output.dense", R::AttnOut, {b, b}});
  m.push_back({"attention.output.LayerNorm", R::AttnNorm, {b}});
  // FFNs 0..ffns-2 live under ffn.<n>; the last one is the layer's intermediate / output.
  for (int f = 0; f + 1 < c.ffns; ++f) {
    const std::string p = cat("ffn.", f, ".");
    m.push_back({p + "intermediate.dense", R::FfnUp, {i, b}});
    m.push_back({p + "output.dense", R::FfnDown, {b, i}});
    m.push_back({p + "output.LayerNorm", R::FfnNorm, {b}});
  }
  m.push_back({"intermediate.dense", R::FfnUp, {i, b}});
  m.push_back({"output.dense", R::FfnDown, {b, i}});
  m.push_back({"output.LayerNorm", R::FfnNorm, {b}});
  m.push_back({"output.bottleneck.dense", R::BottleneckOut, {h, b}});
  m.push_back({"output.bottleneck.LayerNorm", R::BottleneckNorm, {h}});
  return m;
}

std::string layer_path(const MobileBertConfig& c, int layer) {
  return cat(c.prefix, "encoder.layer.", layer, ".");
}

TensorTable mobilebert_tensors(const MobileBertConfig& c) {
  using R = TensorRole;
  const int64_t h = c.hidden;
  const std::string e = c.prefix + "embeddings.";
  TensorTable t;
  t.add(e + "word_embeddings", R::WordEmbeddings, {c.vocab, c.embedding}, -1, false);
  if (c.transformed()) t.add(e + "embedding_transformation", R::EmbeddingProjection, {h, c.embedded_width()});
  t.add(e + "position_embeddings", R::PositionEmbeddings, {c.max_positions, h}, -1, false);
  if (c.type_vocab > 0)
    t.add(e + "token_type_embeddings", R::TokenTypeEmbeddings, {c.type_vocab, h}, -1, false);
  t.add(e + "LayerNorm", R::EmbeddingNorm, {h});
  for (int l = 0; l < c.layers; ++l)
    for (const LayerModule& m : layer_modules(c)) t.add(layer_path(c, l) + m.name, m.role, m.shape, l);
  // MobilePooler has a dense layer only with classifier_activation.
  if (c.classifier_activation) t.add(c.prefix + "pooler.dense", R::Pooler, {h, h}, -1, true, false);
  t.add("classifier", R::HeadOut, {kAnyDim, h}, -1, true, false);
  // Buffers and pre-training / other task heads that checkpoints may carry.
  t.ignored_prefixes.insert(t.ignored_prefixes.end(), {e + "position_ids", "cls.", "qa_outputs."});
  return t;
}

// The feed-forward piece: out = norm(down(act(up(x))) + x).
struct Ffn {
  LinearPtr up;
  LinearNorm down;
};

struct MobileBertLayer {
  LinearNorm bottleneck_in, shared_bottleneck, attn_out, bottleneck_out;
  LinearPtr q, k, v;
  std::vector<Ffn> ffns;
};

class MobileBert final : public EncoderModel {
 public:
  MobileBert(const ModelDir& model, const WeightStore& weights) : c_(read_config(model, weights)) {
    const TensorTable table = mobilebert_tensors(c_);
    refuse_extra_layers(weights, layer_path(c_, c_.layers) + "attention.self.query.weight", model,
                        "num_hidden_layers", c_.layers);
    refuse_extra_layers(weights,
                        layer_path(c_, 0) + cat("ffn.", std::max(c_.ffns - 1, 0), ".output.dense.weight"),
                        model, "num_feedforward_networks", c_.ffns);
    check_tensors(table, weights, "mobilebert");
    const std::string e = c_.prefix + "embeddings.";
    word_ = EmbeddingTable::load(weights, e + "word_embeddings.weight", c_.vocab, c_.embedding);
    if (c_.transformed())
      transform_ = load_linear(weights, e + "embedding_transformation", c_.hidden, c_.embedded_width());
    position_ = EmbeddingTable::load(weights, e + "position_embeddings.weight", c_.max_positions, c_.hidden);
    if (c_.type_vocab > 0)
      token_type_ =
          EmbeddingTable::load(weights, e + "token_type_embeddings.weight", c_.type_vocab, c_.hidden);
    embedding_norm_ = norm(weights, table.require(TensorRole::EmbeddingNorm), c_.hidden);
    for (int l = 0; l < c_.layers; ++l) layers_.push_back(load_layer(weights, table, l));
    const TensorDecl& out = table.require(TensorRole::HeadOut);
    if (const TensorView* view = weights.find(out.weight())) {
      const int labels = view->shape.size() == 2 ? static_cast<int>(view->shape[0]) : 0;
      if (labels <= 0)
        fail(weights.dir().string(), ": ", out.weight(), " has shape ", shape_string(view->shape));
      classifier_ = load_linear(weights, out.module, labels, c_.hidden);
      if (c_.classifier_activation) {
        const TensorDecl& pooler = table.require(TensorRole::Pooler);  // declared with classifier_activation
        if (!weights.find(pooler.weight()))
          fail(weights.dir().string(), ": classifier_activation is true but ", pooler.weight(),
               " is missing");
        pooler_ = load_linear(weights, pooler.module, c_.hidden, c_.hidden);
      }
    }
    info_ = {"mobilebert",
             c_.hidden,
             c_.layers,
             c_.heads,
             c_.max_positions,
             c_.vocab,
             classifier_ ? classifier_->n() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    std::vector<float> hidden = embed(batch, pool, sink);
    for (int l = 0; l < c_.layers; ++l) run_layer(layers_[l], batch, hidden, pool, sink, l);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!classifier_) fail("this MobileBERT model has no classification head (no classifier.weight)");
    const int s = batch.num_sequences();
    std::vector<float> pooled = first_token_rows(hidden, c_.hidden, batch);
    if (pooler_) {
      std::vector<float> dense(pooled.size());
      pooler_->forward(pooled.data(), s, dense.data(), pool);
      for (float& v : dense) v = std::tanh(v);
      pooled = std::move(dense);
    }
    emit(sink, "pooled", pooled, c_.hidden);
    std::vector<float> logits(static_cast<size_t>(s) * classifier_->n());
    classifier_->forward(pooled.data(), s, logits.data(), pool);
    emit(sink, "logits", logits, classifier_->n());
    return logits;
  }

 private:
  LayerNormParams norm(const WeightStore& weights, const TensorDecl& decl, int width) const {
    return load_norm(weights, decl, width, c_.eps, c_.norm);
  }

  MobileBertLayer load_layer(const WeightStore& weights, const TensorTable& table, int l) const {
    const std::string p = layer_path(c_, l);
    const auto linear = [&](const std::string& name, int out, int in) {
      return load_linear(weights, p + name, out, in);
    };
    const auto linear_norm = [&](const std::string& name, int out, int in) {
      // Declared by layer_modules (check_tensors has seen it).
      const TensorDecl* decl = table.declaring(p + name + ".LayerNorm.weight");
      if (!decl) fail("internal: mobilebert declares no ", p, name, ".LayerNorm");
      return LinearNorm{linear(name + ".dense", out, in), norm(weights, *decl, out)};
    };
    const int h = c_.hidden, b = c_.inner, i = c_.intermediate;
    MobileBertLayer layer;
    layer.bottleneck_in = linear_norm("bottleneck.input", b, h);
    if (c_.query_key == AttentionInput::SharedBottleneck)
      layer.shared_bottleneck = linear_norm("bottleneck.attention", b, h);
    layer.q = linear("attention.self.query", b, b);
    layer.k = linear("attention.self.key", b, b);
    layer.v = linear("attention.self.value", b, c_.value == AttentionInput::Hidden ? h : b);
    layer.attn_out = linear_norm("attention.output", b, b);
    for (int f = 0; f < c_.ffns; ++f) {
      const std::string ffn = f + 1 < c_.ffns ? cat("ffn.", f, ".") : "";
      layer.ffns.push_back({linear(ffn + "intermediate.dense", i, b), linear_norm(ffn + "output", b, i)});
    }
    layer.bottleneck_out = linear_norm("output.bottleneck", h, b);
    return layer;
  }

  // Trigram (or plain) word embeddings → embedding_transformation, + positions and types, → norm.
  std::vector<float> embed(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const {
    const int t_all = batch.total_tokens(), e = c_.embedding, width = c_.embedded_width(), h = c_.hidden;
    for (int s = 0; s < batch.num_sequences(); ++s)
      if (batch.length(s) > c_.max_positions)
        fail("sequence ", s, " has ", batch.length(s), " tokens but the model takes at most ",
             c_.max_positions, " (max_position_embeddings)");
    for (int t = 0; t < t_all; ++t) {
      if (batch.input_ids[t] < 0 || batch.input_ids[t] >= c_.vocab)
        fail("token id ", batch.input_ids[t], " is outside the vocabulary of ", c_.vocab);
      const int type = batch.token_type_ids[t];
      if (type != 0 && (type < 0 || type >= c_.type_vocab))
        fail("token type id ", type, " is outside the model's ", c_.type_vocab, " types");
    }
    std::vector<float> words(static_cast<size_t>(t_all) * width, 0.0f);
    for (int s = 0; s < batch.num_sequences(); ++s)
      for (int t = batch.seq_offsets[s]; t < batch.seq_offsets[s + 1]; ++t) {
        float* row = &words[static_cast<size_t>(t) * width];
        if (!c_.trigram) {
          word_.add_row(batch.input_ids[t], row);
          continue;
        }
        // [next, this, previous]: zeros past the sequence's ends (as Hugging Face run unpadded).
        if (t + 1 < batch.seq_offsets[s + 1]) word_.add_row(batch.input_ids[t + 1], row);
        word_.add_row(batch.input_ids[t], row + e);
        if (t > batch.seq_offsets[s]) word_.add_row(batch.input_ids[t - 1], row + 2 * e);
      }
    std::vector<float> out(static_cast<size_t>(t_all) * h);
    if (transform_)
      transform_->forward(words.data(), t_all, out.data(), pool);
    else
      out = std::move(words);
    for (int s = 0; s < batch.num_sequences(); ++s)
      for (int t = batch.seq_offsets[s]; t < batch.seq_offsets[s + 1]; ++t) {
        float* row = &out[static_cast<size_t>(t) * h];
        position_.add_row(t - batch.seq_offsets[s], row);
        if (!token_type_.empty()) token_type_.add_row(batch.token_type_ids[t], row);
      }
    emit(sink, "embeddings.sum", out, h);
    apply_norm(embedding_norm_, out.data(), nullptr, out.data(), t_all, h, pool);
    emit(sink, "embeddings.norm", out, h);
    return out;
  }

  void activate(std::vector<float>& x, ThreadPool& pool) const {
    if (!c_.relu) return kernels::gelu(x.data(), static_cast<int64_t>(x.size()), pool);
    for (float& v : x) v = v < 0.0f ? 0.0f : v;  // as torch: NaN stays NaN
  }

  void run_layer(const MobileBertLayer& layer, const EncoderBatch& batch, std::vector<float>& hidden,
                 ThreadPool& pool, TensorSink* sink, int index) const {
    const int t = batch.total_tokens(), b = c_.inner;
    const std::string name = cat("layer.", index, ".");
    const size_t inner_size = static_cast<size_t>(t) * b;
    std::vector<float> bottlenecked(inner_size), shared, q(inner_size), k(inner_size), v(inner_size);
    layer.bottleneck_in.forward(hidden.data(), nullptr, bottlenecked.data(), t, pool);
    emit(sink, name + "bottleneck_in", bottlenecked, b);
    const float* query_key = bottlenecked.data();
    if (c_.query_key == AttentionInput::SharedBottleneck) {
      shared.resize(inner_size);
      layer.shared_bottleneck.forward(hidden.data(), nullptr, shared.data(), t, pool);
      query_key = shared.data();
    }
    layer.q->forward(query_key, t, q.data(), pool);
    layer.k->forward(query_key, t, k.data(), pool);
    layer.v->forward(c_.value == AttentionInput::Hidden ? hidden.data() : bottlenecked.data(), t, v.data(),
                     pool);
    std::vector<float> context(inner_size), attended(inner_size);
    kernels::attention(q.data(), k.data(), v.data(), b, context.data(), b, batch.seq_offsets, c_.heads,
                       c_.head_dim(), 1.0f / std::sqrt(static_cast<float>(c_.head_dim())), pool);
    emit(sink, name + "attn_context", context, b);
    layer.attn_out.forward(context.data(), bottlenecked.data(), attended.data(), t, pool);
    emit(sink, name + "attn_norm", attended, b);
    std::vector<float> up(static_cast<size_t>(t) * c_.intermediate), next(inner_size);
    for (const Ffn& ffn : layer.ffns) {
      ffn.up->forward(attended.data(), t, up.data(), pool);
      activate(up, pool);
      ffn.down.forward(up.data(), attended.data(), next.data(), t, pool);
      attended.swap(next);
    }
    emit(sink, name + "ffn_out", attended, b);
    std::vector<float> out(hidden.size());
    layer.bottleneck_out.forward(attended.data(), hidden.data(), out.data(), t, pool);
    hidden = std::move(out);
    emit(sink, name + "out", hidden, c_.hidden);
  }

  MobileBertConfig c_;
  EmbeddingTable word_, position_, token_type_;
  LinearPtr transform_;
  LayerNormParams embedding_norm_;
  std::vector<MobileBertLayer> layers_;
  LinearPtr pooler_, classifier_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_mobilebert(const ModelDir& model, const WeightStore& weights) {
  return mobilebert_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_mobilebert(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<MobileBert>(model, weights);
}

}  // namespace qp
