// BART (BartModel, BartForSequenceClassification): a post-LN encoder and a
// post-LN decoder (causal self-attention, then attention over the encoder's
// output), each with learned positions numbered from 2 and a LayerNorm after
// the embeddings (layernorm_embedding); the word embeddings (model.shared)
// are shared and scaled by √d_model when scale_embedding. LayerNorm eps is
// torch's default 1e-5.
//
// encode() returns the decoder's last hidden state, as BartModel's
// last_hidden_state. The decoder reads the encoder's input shifted right
// (decoder_start_token_id first, the last token dropped), as BartModel and
// BartForSequenceClassification build it when given no decoder ids; with
// causal attention and no padding here, every position sees what Hugging
// Face's does. The encoder's last hidden state goes to the sink as
// "encoder.last_hidden_state" (intermediates "encoder.*" and "decoder.*").
// classify(): the decoder state at each sequence's last </s> (eos_token_id)
// → classification_head.dense → tanh → out_proj. Only what classification
// and embeddings need: no generation, no cache of past keys and values.
#include <cmath>

#include "core/error.h"
#include "core/json_read.h"
#include "models/blocks.h"
#include "models/decoder_layer.h"
#include "models/registry.h"

namespace qp {
namespace {

constexpr float kBartLayerNormEps = 1e-5f;  // nn.LayerNorm's default
constexpr int kBartPositionOffset = 2;      // BartLearnedPositionalEmbedding's offset

struct BartConfig {
  LayerShape encoder, decoder;
  int encoder_layers = 0, decoder_layers = 0, vocab = 0, max_positions = 0;
  int decoder_start = 0, eos = 0;
  float word_scale = 1.0f;
  std::string prefix;  // "model." (BartFor…) or "" (a bare BartModel)
};

// Old BartConfig keys whose non-default values select another architecture
// (mBART-style pre-LN, sinusoidal positions...): refused by name.
void refuse_unsupported(const ModelDir& model, const std::string& where) {
  const struct {
    const char* key;
    bool supported;
  } flags[] = {{"normalize_before", false},
               {"add_final_layer_norm", false},
               {"static_position_embeddings", false},
               {"normalize_embedding", true}};
  for (const auto& flag : flags)
    if (config_bool_or(model, flag.key, flag.supported) != flag.supported)
      fail(where, ": key '", flag.key, "' = ", flag.supported ? "false" : "true",
           " is not supported (BART as Hugging Face's BartModel builds it: post-LN, learned positions, "
           "layernorm_embedding)");
  if (config_int_or(model, "extra_pos_embeddings", kBartPositionOffset, 0) != kBartPositionOffset)
    fail(where, ": key 'extra_pos_embeddings' other than ", kBartPositionOffset, " is not supported");
  const std::string activation = config_string_or(model, "activation_function", "gelu");
  if (activation != "gelu")
    fail(where, ": key 'activation_function' is ", json_excerpt(activation),
         ", only exact \"gelu\" is supported");
}

LayerShape stack_shape(const ModelDir& model, const std::string& where, int hidden,
                       const std::string& stack) {
  LayerShape shape{hidden, config_int(model, stack + "_attention_heads"),
                   config_int(model, stack + "_ffn_dim"), kBartLayerNormEps};
  if (hidden % shape.heads != 0)
    fail(where, ": d_model ", hidden, " is not divisible by ", stack, "_attention_heads ", shape.heads);
  return shape;
}

BartConfig read_config(const ModelDir& model, const WeightStore& weights) {
  const std::string where = (model.dir / "config.json").string();
  refuse_unsupported(model, where);
  BartConfig c;
  const int hidden = config_int(model, "d_model");
  c.encoder = stack_shape(model, where, hidden, "encoder");
  c.decoder = stack_shape(model, where, hidden, "decoder");
  c.encoder_layers = config_int(model, "encoder_layers");
  c.decoder_layers = config_int(model, "decoder_layers");
  c.vocab = config_int(model, "vocab_size");
  c.max_positions = config_int(model, "max_position_embeddings");
  c.decoder_start = config_int_or(model, "decoder_start_token_id", 2, 0);
  c.eos = config_int_or(model, "eos_token_id", 2, 0);
  if (c.decoder_start >= c.vocab || c.eos >= c.vocab)
    fail(where, ": decoder_start_token_id ", c.decoder_start, " / eos_token_id ", c.eos,
         " outside the vocabulary of ", c.vocab);
  if (config_bool_or(model, "scale_embedding", false)) c.word_scale = std::sqrt(static_cast<float>(hidden));
  c.prefix = weights.find("model.shared.weight") ? "model." : "";
  return c;
}

const LayerModuleNames kLayerNames{"layers.",
                                   "self_attn.q_proj",
                                   "self_attn.k_proj",
                                   "self_attn.v_proj",
                                   "self_attn.out_proj",
                                   "self_attn_layer_norm",
                                   "fc1",
                                   "fc2",
                                   "final_layer_norm"};
const CrossAttentionNames kCrossNames{"encoder_attn.q_proj", "encoder_attn.k_proj", "encoder_attn.v_proj",
                                      "encoder_attn.out_proj", "encoder_attn_layer_norm"};

// One stack's embedding modules: the shared word table, its positions and its norm.
TensorTable stack_embeddings(const BartConfig& c, const std::string& stack) {
  const int64_t h = c.encoder.hidden;
  TensorTable t;
  t.add(c.prefix + "shared", TensorRole::WordEmbeddings, {c.vocab, h}, -1, false);
  t.add(c.prefix + stack + ".embed_positions", TensorRole::PositionEmbeddings,
        {c.max_positions + kBartPositionOffset, h}, -1, false);
  t.add(c.prefix + stack + ".layernorm_embedding", TensorRole::EmbeddingNorm, {h});
  return t;
}

// Encoder layers are table layers 0.., decoder layers follow them.
TensorTable bart_tensors(const BartConfig& c) {
  using R = TensorRole;
  const int64_t h = c.encoder.hidden;
  TensorTable t = stack_embeddings(c, "encoder");
  declare_layers(t, c.prefix + "encoder.", kLayerNames, c.encoder_layers, c.encoder);
  const TensorTable decoder = stack_embeddings(c, "decoder");
  t.modules.insert(t.modules.end(), decoder.modules.begin() + 1, decoder.modules.end());  // shared once
  declare_layers(t, c.prefix + "decoder.", kLayerNames, c.decoder_layers, c.decoder, c.encoder_layers);
  declare_cross_attention(t, c.prefix + "decoder.", kLayerNames.layer_path, kCrossNames, c.decoder_layers,
                          c.decoder, c.encoder_layers);
  t.add("classification_head.dense", R::HeadDense, {h, h}, -1, true, false);
  t.add("classification_head.out_proj", R::HeadOut, {kAnyDim, h}, -1, true, false);
  // Copies of model.shared that older checkpoints hold, and the generation head.
  t.ignored_prefixes = {c.prefix + "encoder.embed_tokens.", c.prefix + "decoder.embed_tokens.",
                        "final_logits_bias", "lm_head."};
  return t;
}

// Names every tensor "<prefix><name>" on its way to the sink.
class PrefixedSink final : public TensorSink {
 public:
  PrefixedSink(std::string prefix, TensorSink* inner) : prefix_(std::move(prefix)), inner_(inner) {}
  void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) override {
    inner_->on_tensor(prefix_ + name, data, rows, cols);
  }

 private:
  std::string prefix_;
  TensorSink* inner_;
};

class Bart final : public EncoderModel {
 public:
  Bart(const ModelDir& model, const WeightStore& weights) : config_(read_config(model, weights)) {
    const BartConfig& c = config_;
    const TensorTable table = bart_tensors(c);
    refuse_extra_layers(weights, cat(c.prefix, "encoder.layers.", c.encoder_layers, ".fc1.weight"), model,
                        "encoder_layers", c.encoder_layers);
    refuse_extra_layers(weights, cat(c.prefix, "decoder.layers.", c.decoder_layers, ".fc1.weight"), model,
                        "decoder_layers", c.decoder_layers);
    check_tensors(table, weights, "bart");
    const int h = c.encoder.hidden;
    encoder_embeddings_ = load_stack_embeddings(weights, "encoder");
    decoder_embeddings_ = load_stack_embeddings(weights, "decoder");
    encoder_layers_ = load_layers(weights, table, c.encoder_layers, c.encoder);
    for (int i = 0; i < c.decoder_layers; ++i)
      decoder_layers_.push_back(DecoderLayer::load(weights, table, c.encoder_layers + i, c.decoder));
    head_ = load_first_token_head(weights, table, TensorRole::HeadDense, h, FirstTokenHead::Activation::Tanh,
                                  "classification_head.dense");
    info_ = {"bart",          h,       c.encoder_layers + c.decoder_layers, c.encoder.heads,
             c.max_positions, c.vocab, head_ ? head_->num_labels() : 0};
  }

  const EncoderInfo& info() const override { return info_; }

  std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool, TensorSink* sink) const override {
    PrefixedSink encoder_sink("encoder.", sink), decoder_sink("decoder.", sink);
    TensorSink* to_encoder = sink ? &encoder_sink : nullptr;
    TensorSink* to_decoder = sink ? &decoder_sink : nullptr;
    std::vector<float> memory = embed_tokens(encoder_embeddings_, batch, pool, to_encoder);
    run_layers(encoder_layers_, config_.encoder, batch, memory, pool, to_encoder);
    emit(to_encoder, "last_hidden_state", memory, config_.encoder.hidden);
    const EncoderBatch shifted = shift_right(batch);
    std::vector<float> hidden = embed_tokens(decoder_embeddings_, shifted, pool, to_decoder);
    run_decoder_layers(decoder_layers_, config_.decoder, shifted, memory, hidden, pool, to_decoder);
    return hidden;
  }

  std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden, ThreadPool& pool,
                              TensorSink* sink) const override {
    if (!head_) fail("this BART model has no classification head (no classification_head.out_proj.weight)");
    const int h = config_.encoder.hidden;
    std::vector<float> rows;
    rows.reserve(static_cast<size_t>(batch.num_sequences()) * h);
    for (int s = 0; s < batch.num_sequences(); ++s) {
      const float* row = &hidden[static_cast<size_t>(last_eos(batch, s)) * h];
      rows.insert(rows.end(), row, row + h);
    }
    return head_->logits_of_rows(rows, pool, sink);
  }

 private:
  EmbeddingWeights load_stack_embeddings(const WeightStore& weights, const std::string& stack) const {
    const BartConfig& c = config_;
    EmbeddingWeights e =
        load_embeddings(weights, stack_embeddings(c, stack), c.encoder.hidden, c.vocab,
                        c.max_positions + kBartPositionOffset, 0, kBartPositionOffset, kBartLayerNormEps);
    e.word_scale = c.word_scale;
    return e;
  }

  // The decoder's input: each sequence's ids shifted one to the right, decoder_start_token_id first.
  EncoderBatch shift_right(const EncoderBatch& batch) const {
    EncoderBatch shifted = batch;
    for (int s = 0; s < batch.num_sequences(); ++s) {
      const int begin = batch.seq_offsets[s], end = batch.seq_offsets[s + 1];
      if (begin == end) continue;
      shifted.input_ids[begin] = config_.decoder_start;
      for (int t = begin + 1; t < end; ++t) shifted.input_ids[t] = batch.input_ids[t - 1];
    }
    return shifted;
  }

  // The row of sequence s's last </s>: BartForSequenceClassification's sentence representation.
  int last_eos(const EncoderBatch& batch, int s) const {
    for (int t = batch.seq_offsets[s + 1] - 1; t >= batch.seq_offsets[s]; --t)
      if (batch.input_ids[t] == config_.eos) return t;
    fail("sequence ", s, " has no </s> (eos_token_id ", config_.eos,
         "): BART classifies from the decoder state at the last one");
  }

  BartConfig config_;
  EmbeddingWeights encoder_embeddings_, decoder_embeddings_;
  std::vector<TransformerLayer> encoder_layers_;
  std::vector<DecoderLayer> decoder_layers_;
  std::unique_ptr<FirstTokenHead> head_;
  EncoderInfo info_;
};

}  // namespace

TensorTable declare_bart(const ModelDir& model, const WeightStore& weights) {
  return bart_tensors(read_config(model, weights));
}

std::unique_ptr<EncoderModel> create_bart(const ModelDir& model, const WeightStore& weights) {
  return std::make_unique<Bart>(model, weights);
}

}  // namespace qp
