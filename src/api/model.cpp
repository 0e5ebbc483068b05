#include "quantpipe/model.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "models/pooling.h"
#include "models/registry.h"

namespace qp {

struct Model::Impl {
  ModelDir dir;
  std::unique_ptr<EncoderModel> encoder;
  std::optional<Tokenizer> tokenizer;
  std::vector<DenseModule> dense;
  EmbeddingHead head;
  std::vector<std::string> labels;
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
      const std::vector<float> hidden = encoder->encode(batch, *pool, sink);
      fn(batch, hidden);
    }
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
  // Before the weights are read: a bad count should not cost a model load.
  check_thread_count(options.threads, "LoadOptions::threads");
  auto impl = std::make_unique<Impl>();
  impl->dir = read_model_dir(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  impl->encoder = create_encoder(impl->dir, weights);
  impl->tokenizer.emplace(Tokenizer::from_dir(dir));
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

int Model::default_max_length() const {
  const int positions = impl_->encoder->info().max_positions;
  if (auto tokenizer_max = impl_->tokenizer->default_max_length()) return std::min(*tokenizer_max, positions);
  return std::min(512, positions);
}

std::vector<Encoding> Model::tokenize(const std::vector<TextInput>& inputs, int max_length) const {
  const int length = max_length > 0 ? max_length : default_max_length();
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  for (const TextInput& input : inputs) {
    encodings.push_back(encode_input(*impl_->tokenizer, input, length));
  }
  return encodings;
}

std::vector<std::vector<float>> Model::embed_encodings(std::span<const Encoding> encodings,
                                                       int batch_size) const {
  std::vector<std::vector<float>> result;
  result.reserve(encodings.size());
  impl_->for_each_batch(
      encodings, batch_size, [&](const EncoderBatch& batch, const std::vector<float>& hidden) {
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

Classification classification_from_logits(const std::vector<float>& logits,
                                          const std::vector<std::string>& labels) {
  Classification c;
  c.logits = logits;
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max_logit));
  for (float v : logits)
    c.scores.push_back(static_cast<float>(std::exp(static_cast<double>(v - max_logit)) / sum));
  c.label_index = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  c.label = labels[c.label_index];
  return c;
}

std::vector<Classification> Model::classify(const std::vector<TextInput>& inputs,
                                            const RunOptions& options) const {
  std::vector<Classification> result;
  for (const auto& logits : logits_for_encodings(tokenize(inputs, options.max_length), options.batch_size))
    result.push_back(classification_from_logits(logits, impl_->labels));
  return result;
}

const EncoderInfo& Model::info() const { return impl_->encoder->info(); }
const ModelDir& Model::model_dir() const { return impl_->dir; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }
const std::vector<std::string>& Model::labels() const { return impl_->labels; }
EmbeddingHead Model::embedding_head() const { return impl_->head; }
void Model::set_embedding_head(const EmbeddingHead& head) { impl_->head = head; }
int Model::threads() const { return impl_->pool->size(); }

std::string Model::weight_format() const {
  if (impl_->dir.native_format_version == 0) return "fp32";
  std::ifstream in(impl_->dir.dir / "quantpipe.json");
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || !meta.contains("plan")) return "quantized";
  return meta["plan"].value("linear", "quantized");
}
void Model::set_tensor_sink(TensorSink* sink) { impl_->sink = sink; }

}  // namespace qp
