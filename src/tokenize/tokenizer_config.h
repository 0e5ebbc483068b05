// What the fallback loaders read from tokenizer_config.json (and
// special_tokens_map.json / added_tokens.json beside it): special-token names,
// flags, declared added tokens and a sane maximum length.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tokenize/tokenizer_impl.h"

namespace qp::tok {

class TokenizerConfig {
 public:
  // Reads dir/tokenizer_config.json and dir/special_tokens_map.json when present.
  explicit TokenizerConfig(const std::filesystem::path& dir);

  // A special token given as "[CLS]" or {"content": "[CLS]", ...}; fallback when absent.
  std::string special(const char* key, const char* fallback) const;
  bool flag(const char* key, bool fallback) const;
  std::string string_or(const char* key, const std::string& fallback) const;
  // max_length, else model_max_length, when a sane number (transformers writes 1e30 for none).
  std::optional<Truncation> truncation() const;
  // added_tokens_decoder of tokenizer_config.json, then added_tokens.json (ids not yet seen),
  // with content normalized by normalizer where the token says so.
  void add_declared_tokens(const Normalizer* normalizer, AddedTokens& out) const;
  const std::string& file() const { return file_; }

 private:
  std::filesystem::path dir_;
  std::string file_;
  nlohmann::json config_ = nlohmann::json::object();
  nlohmann::json special_map_ = nlohmann::json::object();
};

// Adds the named special tokens (normalized false) that are in the model's vocabulary and
// not already added.
void add_special_tokens(const std::vector<std::string>& names, const Model& model, AddedTokens& out);

// Adds the named special tokens not already added, with Hugging Face's ids: the model's
// id when the vocabulary has the token, else the next free id after it.
void add_new_special_tokens(const std::vector<std::string>& names, const Model& model, AddedTokens& out);

// The id Hugging Face gives a new added token (a tokenizer.json's "id" is not used):
// an earlier added token's or the vocabulary's with the same content, else the next
// free id after the vocabulary and the added tokens.
int32_t added_token_id(const std::string& content, const Model& model, const AddedTokens& added);

}  // namespace qp::tok
