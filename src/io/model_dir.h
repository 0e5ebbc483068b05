// A Hugging Face model directory: config.json and the sentence-transformers
// module files (modules.json, 1_Pooling/config.json, Normalize, 2_Dense).
// Architecture hyper-parameters are read by the architecture's own file in
// src/models; this layer only reads what every encoder shares.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quantpipe/types.h"

namespace qp {

struct PoolingConfig {
  PoolingMode mode = PoolingMode::Mean;
};

// A sentence-transformers Dense module (2_Dense): out = act(W x + b).
struct DenseModuleConfig {
  std::filesystem::path dir;
  int in_features = 0;
  int out_features = 0;
  bool bias = true;
  std::string activation;  // "torch.nn.modules.linear.Identity", "torch.nn.modules.activation.Tanh", ...
};

struct SentenceTransformerConfig {
  PoolingConfig pooling;
  std::vector<DenseModuleConfig> dense;
  bool normalize = false;
  // sentence_bert_config.json's max_seq_length: sentence-transformers truncates
  // there, whatever the tokenizer files say (256 for all-MiniLM-L6-v2, whose
  // tokenizer says 128). Absent when the file or the key is.
  std::optional<int> max_seq_length;
};

// Version of quantpipe's native quantized format (docs/FORMAT.md) this build
// writes and the newest it reads.
inline constexpr int kNativeFormatVersion = 1;

struct ModelDir {
  std::filesystem::path dir;
  nlohmann::json config;                                          // config.json as read
  std::string model_type;                                         // "bert", "distilbert", "roberta", ...
  std::vector<std::string> architectures;                         // may be empty
  std::vector<std::string> id2label;                              // index -> label; empty when none
  std::optional<SentenceTransformerConfig> sentence_transformer;  // set when modules.json exists
  int native_format_version = 0;  // quantpipe.json's format_version; 0 for a Hugging Face directory

  bool has_architecture(const std::string& name) const;
};

// <dir>/sentence_bert_config.json's max_seq_length; nullopt when the file or
// the key is absent. Throws naming the file and key when it is not a positive integer.
std::optional<int> read_sentence_bert_max_seq_length(const std::filesystem::path& dir);

// Throws "<dir>: model directory not found" when dir is absent, and
// "<dir>/config.json: <problem>" for missing or broken files.
ModelDir read_model_dir(const std::filesystem::path& dir);

// Largest integer a size-like config key may hold (2^30): keeps products such as
// vocab × hidden far from int64 overflow while allowing every real model.
inline constexpr int kMaxConfigInt = 1 << 30;

// Typed access to config.json keys with errors naming file and key. Integers
// must lie in [min, kMaxConfigInt]; sizes, counts and dimensions are positive,
// so min defaults to 1 (a hidden_size of 0 would otherwise reach a division).
int config_int(const ModelDir& model, const std::string& key, int min = 1);
int config_int_or(const ModelDir& model, const std::string& key, int fallback, int min = 1);
bool config_bool_or(const ModelDir& model, const std::string& key, bool fallback);
double config_double_or(const ModelDir& model, const std::string& key, double fallback);
std::string config_string_or(const ModelDir& model, const std::string& key, const std::string& fallback);

}  // namespace qp
