// quantpipe's public model API: load a Hugging Face encoder directory, then
// embed or classify text. Every CLI subcommand is a thin layer over this.
//
//   qp::Model model = qp::Model::load("models/all-MiniLM-L6-v2", {.threads = 2});
//   auto vectors = model.embed({{"A man is playing a guitar."}});
//
// A process that runs many batches should call qp::retain_freed_memory()
// once at start-up, as the CLI does: without it glibc faults every layer's
// activations in afresh on each batch (see core/heap_tuning.h).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "quantpipe/error.h"
#include "quantpipe/heap_tuning.h"
#include "quantpipe/tokenizer.h"
#include "quantpipe/types.h"

namespace qp {

struct LoadOptions {
  int threads = 0;  // 0: all hardware threads; at most qp::max_threads() (core/thread_pool.h)
};

struct RunOptions {
  int batch_size = 32;
  int max_length = 0;  // 0: Model::default_max_length()
};

struct TextInput {
  std::string text;
  std::optional<std::string> text_pair;
};

// How logits become scores, from config.json's problem_type as transformers
// reads it: single-label heads softmax, multi-label heads score each label on
// its own with a sigmoid, regression heads give the raw value. A one-logit
// head (a cross-encoder / reranker) is a sigmoid unless problem_type says
// regression, as in transformers' pipeline: a softmax of one value is 1.0.
enum class ScoreFunction { Softmax, Sigmoid, Identity };

struct Classification {
  int label_index = -1;  // arg-max; -1 (and no label) when a logit is NaN or infinite
  std::string label;
  std::vector<float> scores;  // ScoreFunction of logits
  std::vector<float> logits;

  bool has_label() const { return label_index >= 0; }
};

// Tokenizes one input (text, and its pair when present) to at most max_length tokens.
Encoding encode_input(const Tokenizer& tokenizer, const TextInput& input, int max_length);

// Scores and the arg-max label of one row of logits. Non-finite logits give
// no label: a broken model must not print a plausible answer.
Classification classification_from_logits(const std::vector<float>& logits,
                                          const std::vector<std::string>& labels,
                                          ScoreFunction function = ScoreFunction::Softmax);

// How embed() turns token states into one vector. Sentence-transformers
// models bring their own (modules.json); others default to mean pooling.
struct EmbeddingHead {
  PoolingMode pooling = PoolingMode::Mean;
  bool normalize = false;
};

// A model directory for what a user typed: an existing path stays as it is; a
// hub id ("org/name" or "org/name@revision") is fetched into the shared
// Hugging Face cache (read from it alone when HF_HUB_OFFLINE=1; HF_ENDPOINT,
// HF_TOKEN apply) and its snapshot directory returned; a .gguf file is
// imported once into quantpipe's cache (~/.cache/quantpipe/gguf) and that
// directory returned.
std::filesystem::path resolve_model_source(const std::string& path_or_hub_id);

// Thread safety: one Model may serve many threads. The const members
// (tokenize, embed, classify, ...) may be called concurrently; their forward
// passes take turns on the model's thread pool, so results are exactly those
// of one caller at a time. The setters (set_embedding_head, set_tensor_sink)
// are not: call them before the model is shared.
class Model {
 public:
  // Throws qp::Error naming the file and the problem.
  static Model load(const std::filesystem::path& dir, const LoadOptions& options = {});
  // The same model with some weights replaced by fp32 values of the same
  // shape, by Hugging Face tensor name (sensitivity analysis: the fp32 model
  // with one weight quantized and dequantized; ablations). Throws for a name
  // the directory does not hold or a wrong count.
  static Model load_with_replaced_weights(const std::filesystem::path& dir, const LoadOptions& options,
                                          std::map<std::string, std::vector<float>> replacements);

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  std::vector<Encoding> tokenize(const std::vector<TextInput>& inputs, int max_length = 0) const;

  std::vector<std::vector<float>> embed(const std::vector<TextInput>& inputs,
                                        const RunOptions& options = {}) const;
  std::vector<Classification> classify(const std::vector<TextInput>& inputs,
                                       const RunOptions& options = {}) const;

  // The same on already tokenized inputs (benchmarks, tests).
  std::vector<std::vector<float>> embed_encodings(std::span<const Encoding> encodings, int batch_size) const;
  std::vector<std::vector<float>> logits_for_encodings(std::span<const Encoding> encodings,
                                                       int batch_size) const;

  const EncoderInfo& info() const;
  const std::filesystem::path& path() const;  // the directory it was loaded from
  // Throws when the model directory has no tokenizer files (see has_tokenizer):
  // such a model runs on pre-tokenized input (embed_encodings, logits_for_encodings).
  const Tokenizer& tokenizer() const;
  bool has_tokenizer() const;
  const std::vector<std::string>& labels() const;  // id2label, or LABEL_i when absent
  ScoreFunction score_function() const;            // problem_type and num_labels, see ScoreFunction
  EmbeddingHead embedding_head() const;
  void set_embedding_head(const EmbeddingHead& head);
  int threads() const;
  // "fp32" for a Hugging Face model (computed in fp32 whatever the stored
  // dtype), else the native model's main scheme, e.g. "q4_affine_g64".
  std::string weight_format() const;
  // Truncation length when none is asked for: sentence_bert_config.json's
  // max_seq_length, else the tokenizer's, else 512; at most the positions.
  int default_max_length() const;
  // Receives named intermediate tensors of every forward pass (debugging).
  void set_tensor_sink(TensorSink* sink);

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qp
