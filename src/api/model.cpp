#include "quantpipe/model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/json_file.h"
#include "core/json_read.h"
#include "core/profiler.h"
#include "core/thread_pool.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/encoder.h"
#include "models/pooling.h"
#include "models/registry.h"
#include "quant/mixed_precision.h"

namespace qp {

struct Model::Impl {
  ModelDir dir;
  std::unique_ptr<EncoderModel> encoder;
  std::optional<Tokenizer> tokenizer;
  std::vector<DenseModule> dense;
  EmbeddingHead head;
  std::vector<std::string> labels;
  ScoreFunction score_function = ScoreFunction::Softmax;
  std::unique_ptr<ThreadPool> pool;
  TensorSink* sink = nullptr;

  // Runs fn(batch, hidden) over consecutive slices of `encodings`.
  template <typename Fn>
  void for_each_batch(std::span<const Encoding> encodings, int batch_size, Fn&& fn) const {
    const size_t step = static_cast<size_t>(std::max(1, batch_size));
    for (size_t begin = 0; begin < encodings.size(); begin += step) {
      const size_t end = std::min(encodings.size(), begin + step);
      const EncoderBatch batch =
          EncoderBatch::from_encodings(std::span(encodings).subspan(begin, end - begin));
      if (sink) sink->begin_pass();
      std::vector<float> hidden;
      try {
        const profile::Scope scope(profile::Op::Forward);
        hidden = encode_in_passes(batch);
      } catch (const Error& e) {
        fail(dir.dir.string(), ": ", e.what());  // which model refused the input
      }
      fn(batch, hidden);
    }
  }

  // A batch runs through the encoder in passes of whole sequences, at most
  // kPassTokens tokens each (a longer sequence is a pass of its own): a
  // layer's activations for that many tokens stay in a core's L2 from one op
  // to the next, where a whole 32 × 128 batch streams ~20 MB through memory
  // per GEMM (the AMX GEMMs ran at half speed on such rows; 256 measured 5–8% faster
  // than 512 on MiniLM, q8 and fp32, 1 and 2 threads). With at least two
  // passes a thread, each pass runs on one thread (the threads take passes as
  // they finish, and the ops inside run serially), so threads never wait for
  // each other inside an op; with fewer, the passes go one after another, each
  // op split across the threads. Every token's arithmetic is its own row and
  // attention stays within a sequence, so the result is the same bits either
  // way. A sink sees the batch in one pass, as its tensors are per batch.
  static constexpr int kPassTokens = 256;

  std::vector<float> encode_in_passes(const EncoderBatch& batch) const {
    if (sink || batch.total_tokens() <= kPassTokens) return encoder->encode(batch, *pool, sink);
    std::vector<std::pair<int, int>> passes;  // sequence ranges [begin, end)
    for (int begin = 0; begin < batch.num_sequences();) {
      int end = begin + 1;
      while (end < batch.num_sequences() &&
             batch.seq_offsets[end + 1] - batch.seq_offsets[begin] <= kPassTokens)
        ++end;
      passes.emplace_back(begin, end);
      begin = end;
    }
    const int width = encoder->info().hidden_size;
    std::vector<float> hidden(static_cast<size_t>(batch.total_tokens()) * width);
    const auto run = [&](int64_t first, int64_t last) {
      for (int64_t p = first; p < last; ++p) {
        const auto [begin, end] = passes[p];
        const std::vector<float> part = encoder->encode(batch.sequences(begin, end), *pool, nullptr);
        std::copy(part.begin(), part.end(),
                  hidden.begin() + static_cast<int64_t>(batch.seq_offsets[begin]) * width);
      }
    };
    const auto count = static_cast<int64_t>(passes.size());
    if (pool->size() > 1 && count >= 2 * pool->size())
      pool->parallel_for(count, run);
    else
      run(0, count);
    return hidden;
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

namespace {

struct ProblemType {
  const char* name;
  ScoreFunction function;
};
constexpr ProblemType kProblemTypes[] = {{"single_label_classification", ScoreFunction::Softmax},
                                         {"multi_label_classification", ScoreFunction::Sigmoid},
                                         {"regression", ScoreFunction::Identity}};

// A head with one logit (a cross-encoder / reranker) is scored with a
// sigmoid, as transformers' text-classification pipeline does: a softmax over
// one value is always 1.0. Only an explicit regression keeps the raw value.
ScoreFunction read_score_function(const ModelDir& model, int num_labels) {
  const std::string type = config_string_or(model, "problem_type", "single_label_classification");
  for (const ProblemType& row : kProblemTypes)
    if (type == row.name)
      return num_labels == 1 && row.function == ScoreFunction::Softmax ? ScoreFunction::Sigmoid
                                                                       : row.function;
  fail((model.dir / "config.json").string(), ": problem_type ", json_excerpt(type),
       " is not supported (single_label_classification, multi_label_classification, regression)");
}

// The tokenizer, the word embeddings and the head must agree with each other
// and with config.json, or every output is quietly wrong.
void check_parts_agree(const ModelDir& model, const EncoderInfo& info, const Tokenizer& tokenizer) {
  const int32_t max_id = tokenizer.max_token_id();
  if (info.vocab_size > 0 && max_id >= info.vocab_size)
    fail(model.dir.string(), ": the tokenizer has token id ", max_id,
         " but the model's word embeddings have ", info.vocab_size,
         " rows (vocab_size in config.json); the tokenizer does not belong to this model");
  if (info.num_labels > 0 && !model.id2label.empty() &&
      model.id2label.size() != static_cast<size_t>(info.num_labels))
    fail((model.dir / "config.json").string(), ": id2label names ", model.id2label.size(),
         " labels but the classifier has ", info.num_labels, " outputs");
}

// Files any tokenizer loader reads. A directory with none of them is a model
// without a tokenizer (an oracle checkpoint, a bare export): it runs on
// pre-tokenized input. A directory with a broken one is an error.
constexpr const char* kTokenizerFiles[] = {
    "tokenizer.json", "vocab.txt", "vocab.json", "spm.model", "sentencepiece.bpe.model", "tokenizer.model"};

bool has_tokenizer_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const char* name : kTokenizerFiles)
    if (std::filesystem::exists(dir / name, ec)) return true;
  return false;
}

}  // namespace

Model Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
  return load_with_replaced_weights(dir, options, {});
}

Model Model::load_with_replaced_weights(const std::filesystem::path& dir, const LoadOptions& options,
                                        std::map<std::string, std::vector<float>> replacements) {
  // Before the weights are read: a bad count should not cost a model load.
  check_thread_count(options.threads, "LoadOptions::threads");
  auto impl = std::make_unique<Impl>();
  impl->dir = read_model_dir(dir);
  WeightStore weights = WeightStore::open_dir(dir);
  for (auto& [name, values] : replacements) weights.replace_values(name, std::move(values));
  impl->encoder = create_encoder(impl->dir, weights);
  if (has_tokenizer_files(dir)) {
    impl->tokenizer.emplace(Tokenizer::from_dir(dir));
    check_parts_agree(impl->dir, impl->encoder->info(), *impl->tokenizer);
  }
  impl->score_function = read_score_function(impl->dir, impl->encoder->info().num_labels);
  if (impl->dir.sentence_transformer) {
    impl->head = {impl->dir.sentence_transformer->pooling.mode, impl->dir.sentence_transformer->normalize};
    for (const DenseModuleConfig& dense : impl->dir.sentence_transformer->dense)
      impl->dense.emplace_back(dense);
  }
  impl->labels = impl->dir.id2label;
  for (int i = static_cast<int>(impl->labels.size()); i < impl->encoder->info().num_labels; ++i)
    impl->labels.push_back("LABEL_" + std::to_string(i));
  impl->pool = std::make_unique<ThreadPool>(options.threads);
  return Model(std::move(impl));
}

// sentence-transformers' max_seq_length first (it overrides the tokenizer's
// length there), then the tokenizer's, then 512; never more than the model's
// positions.
int Model::default_max_length() const {
  const int positions = impl_->encoder->info().max_positions;
  if (impl_->dir.sentence_transformer && impl_->dir.sentence_transformer->max_seq_length)
    return std::min(*impl_->dir.sentence_transformer->max_seq_length, positions);
  if (impl_->tokenizer)
    if (auto tokenizer_max = impl_->tokenizer->default_max_length())
      return std::min(*tokenizer_max, positions);
  return std::min(512, positions);
}

std::vector<Encoding> Model::tokenize(const std::vector<TextInput>& inputs, int max_length) const {
  const int length = max_length > 0 ? max_length : default_max_length();
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  for (const TextInput& input : inputs) {
    encodings.push_back(encode_input(tokenizer(), input, length));
  }
  return encodings;
}

std::vector<std::vector<float>> Model::embed_encodings(std::span<const Encoding> encodings,
                                                       int batch_size) const {
  std::vector<std::vector<float>> result;
  result.reserve(encodings.size());
  impl_->for_each_batch(
      encodings, batch_size, [&](const EncoderBatch& batch, const std::vector<float>& hidden) {
        const profile::Scope scope(profile::Op::Pooling);
        int width = impl_->encoder->info().hidden_size;
        std::vector<float> pooled = pool_sequences(hidden, width, batch, impl_->head.pooling);
        for (const DenseModule& dense : impl_->dense) {
          pooled = dense.forward(pooled, *impl_->pool);
          width = dense.out_features();
        }
        if (impl_->head.normalize) l2_normalize_rows(pooled, width);
        for (int s = 0; s < batch.num_sequences(); ++s)
          result.emplace_back(pooled.begin() + static_cast<size_t>(s) * width,
                              pooled.begin() + static_cast<size_t>(s + 1) * width);
      });
  return result;
}

std::vector<std::vector<float>> Model::logits_for_encodings(std::span<const Encoding> encodings,
                                                            int batch_size) const {
  const int labels = impl_->encoder->info().num_labels;
  if (labels == 0)
    fail(impl_->dir.dir.string(), ": the model has no classification head (architectures: ",
         impl_->dir.architectures.empty() ? std::string("none") : impl_->dir.architectures.front(),
         "); use embed instead");
  std::vector<std::vector<float>> result;
  result.reserve(encodings.size());
  impl_->for_each_batch(
      encodings, batch_size, [&](const EncoderBatch& batch, const std::vector<float>& hidden) {
        const profile::Scope scope(profile::Op::Pooling);
        const std::vector<float> logits = impl_->encoder->classify(batch, hidden, *impl_->pool, impl_->sink);
        for (int s = 0; s < batch.num_sequences(); ++s)
          result.emplace_back(logits.begin() + static_cast<size_t>(s) * labels,
                              logits.begin() + static_cast<size_t>(s + 1) * labels);
      });
  return result;
}

std::vector<std::vector<float>> Model::embed(const std::vector<TextInput>& inputs,
                                             const RunOptions& options) const {
  return embed_encodings(tokenize(inputs, options.max_length), options.batch_size);
}

Encoding encode_input(const Tokenizer& tokenizer, const TextInput& input, int max_length) {
  std::optional<std::string_view> pair;
  if (input.text_pair) pair = *input.text_pair;
  return tokenizer.encode(input.text, pair, max_length);
}

namespace {

std::vector<float> softmax(const std::vector<float>& logits) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max_logit));
  std::vector<float> scores;
  for (float v : logits)
    scores.push_back(static_cast<float>(std::exp(static_cast<double>(v - max_logit)) / sum));
  return scores;
}

std::vector<float> sigmoid(const std::vector<float>& logits) {
  std::vector<float> scores;
  for (float v : logits)
    scores.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v)))));
  return scores;
}

}  // namespace

Classification classification_from_logits(const std::vector<float>& logits,
                                          const std::vector<std::string>& labels, ScoreFunction function) {
  Classification c;
  c.logits = logits;
  if (logits.empty() ||
      !std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); })) {
    c.scores.assign(logits.size(), std::numeric_limits<float>::quiet_NaN());
    return c;
  }
  c.scores = function == ScoreFunction::Softmax   ? softmax(logits)
             : function == ScoreFunction::Sigmoid ? sigmoid(logits)
                                                  : logits;
  c.label_index = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  c.label =
      c.label_index < static_cast<int>(labels.size()) ? labels[c.label_index] : cat("LABEL_", c.label_index);
  return c;
}

std::vector<Classification> Model::classify(const std::vector<TextInput>& inputs,
                                            const RunOptions& options) const {
  std::vector<Classification> result;
  for (const auto& logits : logits_for_encodings(tokenize(inputs, options.max_length), options.batch_size))
    result.push_back(classification_from_logits(logits, impl_->labels, impl_->score_function));
  return result;
}

const EncoderInfo& Model::info() const { return impl_->encoder->info(); }
const std::filesystem::path& Model::path() const { return impl_->dir.dir; }
bool Model::has_tokenizer() const { return impl_->tokenizer.has_value(); }

const Tokenizer& Model::tokenizer() const {
  if (!impl_->tokenizer)
    fail(impl_->dir.dir.string(),
         ": the model has no tokenizer files (tokenizer.json, vocab.txt, vocab.json, spm.model, …), so it "
         "cannot read text; give it pre-tokenized input: JSONL lines {\"input_ids\": [...], "
         "\"token_type_ids\": "
         "[...]} as `quantpipe tokenize` prints them");
  return *impl_->tokenizer;
}
const std::vector<std::string>& Model::labels() const { return impl_->labels; }
ScoreFunction Model::score_function() const { return impl_->score_function; }
EmbeddingHead Model::embedding_head() const { return impl_->head; }
void Model::set_embedding_head(const EmbeddingHead& head) { impl_->head = head; }
int Model::threads() const { return impl_->pool->size(); }

std::string Model::weight_format() const {
  if (impl_->dir.native_format_version == 0) return "fp32";
  const std::optional<nlohmann::json> meta = read_json_object(impl_->dir.dir / "quantpipe.json");
  if (!meta) return "quantized";
  const auto plan = meta->find("plan");
  if (plan == meta->end() || !plan->is_object()) return "quantized";
  // Bits chosen per tensor: "mixed q3/q4/q6" (the widths its units took).
  if (const auto mixed = plan->find("mixed_precision"); mixed != plan->end() && mixed->is_object()) {
    std::map<double, std::string> widths;
    if (const auto units = mixed->find("units"); units != mixed->end() && units->is_array())
      for (const nlohmann::json& u : *units) {
        const std::string chosen = u.value("chosen", "");
        widths[quant::option_bits(chosen)] = quant::option_width(chosen);
      }
    std::string text = "mixed";
    for (const auto& [bits, width] : widths) text += (text == "mixed" ? " " : "/") + width;
    return text;
  }
  const auto linear = plan->find("linear");
  return linear != plan->end() && linear->is_string() ? linear->get<std::string>() : "quantized";
}
void Model::set_tensor_sink(TensorSink* sink) { impl_->sink = sink; }

}  // namespace qp
