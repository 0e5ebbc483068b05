#include "models/blocks.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_read.h"
#include "core/profiler.h"

namespace qp {

EmbeddingWeights load_embeddings(const WeightStore& weights, const TensorTable& table, int hidden, int vocab,
                                 int max_positions, int type_vocab, int position_offset, float eps) {
  EmbeddingWeights e;
  e.hidden = hidden;
  e.vocab = vocab;
  e.max_positions = max_positions;
  e.type_vocab = type_vocab;
  e.position_offset = position_offset;
  e.word = EmbeddingTable::load(weights, table.require(TensorRole::WordEmbeddings).weight(), vocab, hidden);
  if (table.present(weights, TensorRole::PositionEmbeddings))
    e.position = EmbeddingTable::load(weights, table.require(TensorRole::PositionEmbeddings).weight(),
                                      max_positions, hidden);
  if (type_vocab > 0 && table.present(weights, TensorRole::TokenTypeEmbeddings))
    e.token_type = EmbeddingTable::load(weights, table.require(TensorRole::TokenTypeEmbeddings).weight(),
                                        type_vocab, hidden);
  e.norm = load_norm(weights, table.require(TensorRole::EmbeddingNorm), hidden, eps);
  return e;
}

namespace {
void check_batch_fits(const EmbeddingWeights& weights, const EncoderBatch& batch) {
  for (int s = 0; s < batch.num_sequences(); ++s)
    if (batch.length(s) + weights.position_offset > weights.max_positions)
      fail("sequence ", s, " has ", batch.length(s), " tokens but the model takes at most ",
           weights.max_positions - weights.position_offset, " (max_position_embeddings)");
  for (int t = 0; t < batch.total_tokens(); ++t) {
    if (batch.input_ids[t] < 0 || batch.input_ids[t] >= weights.vocab)
      fail("token id ", batch.input_ids[t], " is outside the vocabulary of ", weights.vocab);
    // A model without token type embeddings (DistilBERT, ModernBERT) takes no token types:
    // transformers leaves them out of its inputs, so the 1s a pair's post-processor gives
    // the second segment are ignored there, not an error.
    const int type = batch.token_type_ids[t];
    if (weights.type_vocab > 0 && type != 0 && (type < 0 || type >= weights.type_vocab))
      fail("token type id ", type, " is outside the model's ", weights.type_vocab, " types");
  }
}
}  // namespace

std::vector<float> embed_tokens(const EmbeddingWeights& weights, const EncoderBatch& batch, ThreadPool& pool,
                                TensorSink* sink) {
  const profile::Scope scope(profile::Op::Embedding);
  check_batch_fits(weights, batch);
  const int h = weights.hidden;
  std::vector<float> out(static_cast<size_t>(batch.total_tokens()) * h);
  for (int s = 0; s < batch.num_sequences(); ++s) {
    for (int t = batch.seq_offsets[s]; t < batch.seq_offsets[s + 1]; ++t) {
      const int position = t - batch.seq_offsets[s] + weights.position_offset;
      float* row = &out[static_cast<size_t>(t) * h];
      weights.word.add_row(batch.input_ids[t], row);
      if (weights.word_scale != 1.0f)
        for (int i = 0; i < h; ++i) row[i] *= weights.word_scale;
      if (!weights.position.empty()) weights.position.add_row(position, row);
      if (!weights.token_type.empty()) weights.token_type.add_row(batch.token_type_ids[t], row);
    }
  }
  emit(sink, "embeddings.sum", out, h);
  apply_norm(weights.norm, out.data(), nullptr, out.data(), batch.total_tokens(), h, pool);
  emit(sink, "embeddings.norm", out, h);
  return out;
}

std::vector<float> FirstTokenHead::logits(const EncoderBatch& batch, const std::vector<float>& hidden,
                                          ThreadPool& pool, TensorSink* sink) const {
  return logits_of_rows(first_token_rows(hidden, dense->k(), batch), pool, sink);
}

std::vector<float> FirstTokenHead::logits_of_rows(const std::vector<float>& rows, ThreadPool& pool,
                                                  TensorSink* sink) const {
  const int s = static_cast<int>(rows.size() / dense->k());
  std::vector<float> mid(static_cast<size_t>(s) * dense->n());
  dense->forward(rows.data(), s, mid.data(), pool);
  // ReLU as torch computes it: NaN stays NaN (std::max(v, 0) would turn it into 0).
  if (activation == Activation::Gelu) kernels::gelu(mid.data(), static_cast<int64_t>(mid.size()), pool);
  for (float& v : mid)
    if (activation != Activation::Gelu)
      v = activation == Activation::Tanh ? std::tanh(v) : (v < 0.0f ? 0.0f : v);
  emit(sink, dense_name, mid, dense->n());
  std::vector<float> result(static_cast<size_t>(s) * num_labels());
  out->forward(mid.data(), s, result.data(), pool);
  emit(sink, "logits", result, num_labels());
  return result;
}

std::unique_ptr<FirstTokenHead> load_first_token_head(const WeightStore& weights, const TensorTable& table,
                                                      TensorRole dense_role, int hidden,
                                                      FirstTokenHead::Activation activation,
                                                      const std::string& dense_name) {
  const TensorDecl& out_decl = table.require(TensorRole::HeadOut);
  const TensorView* out = weights.find(out_decl.weight());
  if (!out) return nullptr;
  if (out->shape.size() != 2 || out->shape[0] <= 0)
    fail(weights.dir().string(), ": ", out_decl.weight(), " has shape ", shape_string(out->shape),
         ", expected [num_labels, ", hidden, "]");
  const int labels = static_cast<int>(out->shape[0]);
  const TensorDecl& dense_decl = table.require(dense_role);
  if (!weights.find(dense_decl.weight()))
    fail(weights.dir().string(), ": the classification head has ", out_decl.weight(), " but not ",
         dense_decl.weight());
  auto head = std::make_unique<FirstTokenHead>();
  head->dense = load_linear(weights, dense_decl.module, hidden, hidden);
  head->out = load_linear(weights, out_decl.module, labels, hidden);
  head->activation = activation;
  head->dense_name = dense_name;
  return head;
}

std::vector<float> first_token_rows(const std::vector<float>& hidden, int width, const EncoderBatch& batch) {
  std::vector<float> rows;
  rows.reserve(static_cast<size_t>(batch.num_sequences()) * width);
  for (int s = 0; s < batch.num_sequences(); ++s) {
    const float* row = &hidden[static_cast<size_t>(batch.seq_offsets[s]) * width];
    rows.insert(rows.end(), row, row + width);
  }
  return rows;
}

void require_gelu_activation(const std::string& where, const std::string& activation) {
  if (activation != "gelu")
    fail(where, ": activation ", json_excerpt(activation), " is not supported yet (only exact \"gelu\")");
}

float read_layer_norm_eps(const ModelDir& model, const std::string& key, double fallback) {
  const double eps = config_double_or(model, key, fallback);
  if (!(eps > 0) || eps > 1)
    fail((model.dir / "config.json").string(), ": key '", key, "' is ", eps,
         ", expected a small positive number such as 1e-12");
  return static_cast<float>(eps);
}

void refuse_extra_layers(const WeightStore& weights, const std::string& first_tensor_of_next_layer,
                         const ModelDir& model, const std::string& layers_key, int layers) {
  if (!weights.find(first_tensor_of_next_layer)) return;
  fail((model.dir / "config.json").string(), ": key '", layers_key, "' is ", layers,
       " but the weights hold '", first_tensor_of_next_layer,
       "' (a layer past the last); the config does not match the checkpoint");
}

}  // namespace qp
