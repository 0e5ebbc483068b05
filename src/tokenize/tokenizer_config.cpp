#include "tokenize/tokenizer_config.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_read.h"
#include "quantpipe/tokenizer.h"
#include "tokenize/unicode.h"

namespace qp::tok {

using nlohmann::json;

TokenizerConfig::TokenizerConfig(const std::filesystem::path& dir)
    : dir_(dir), file_((dir / "tokenizer_config.json").string()) {
  if (std::filesystem::exists(dir / "tokenizer_config.json")) config_ = read_json_object_file(file_);
  if (std::filesystem::exists(dir / "special_tokens_map.json"))
    special_map_ = read_json_object_file(dir / "special_tokens_map.json");
}

std::string TokenizerConfig::special(const char* key, const char* fallback) const {
  for (const json* source : {&config_, &special_map_}) {
    const auto it = source->find(key);
    if (it == source->end() || it->is_null()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
      return (*it)["content"].get<std::string>();
    fail(file_, ": key '", key, "' is ", json_excerpt(*it), ", expected a token or {\"content\": ...}");
  }
  return fallback;
}

bool TokenizerConfig::flag(const char* key, bool fallback) const {
  return JsonFields(config_, file_).boolean_or(key, fallback);
}

std::string TokenizerConfig::string_or(const char* key, const std::string& fallback) const {
  return JsonFields(config_, file_).string_or(key, fallback);
}

std::optional<Truncation> TokenizerConfig::truncation() const {
  const json* length = nullptr;
  if (const auto it = config_.find("max_length"); it != config_.end() && it->is_number()) length = &*it;
  if (const auto it = config_.find("model_max_length"); !length && it != config_.end() && it->is_number())
    length = &*it;
  if (length && length->get<double>() > 0 && length->get<double>() <= 1e6)
    return Truncation{static_cast<int>(length->get<double>())};
  return std::nullopt;
}

void TokenizerConfig::add_declared_tokens(const Normalizer* normalizer, AddedTokens& out) const {
  std::set<int32_t> seen;
  for (const AddedToken& t : out.tokens()) seen.insert(t.id);
  std::u32string scratch;
  const JsonFields config(config_, file_);
  if (const auto decoder = config.object_if_present("added_tokens_decoder")) {
    for (const auto& [key, value] : decoder->raw().items()) {
      const int32_t id = static_cast<int32_t>(
          decoder->integer_value(json(std::stoll(key.empty() ? "x" : key)), key, 0, kMaxTokenId));
      const JsonFields entry(value, file_, decoder->key_path(key));
      AddedToken t;
      t.content = decode_utf8(entry.string("content"));
      t.raw_content = t.content;
      t.id = id;
      t.special = entry.boolean_or("special", false);
      t.normalized = entry.boolean_or("normalized", !t.special);
      t.lstrip = entry.boolean_or("lstrip", false);
      t.rstrip = entry.boolean_or("rstrip", false);
      t.single_word = entry.boolean_or("single_word", false);
      if (t.normalized && normalizer) normalizer->normalize(t.content, scratch);
      if (seen.insert(id).second) out.add(std::move(t));
    }
  }
  const auto added_path = dir_ / "added_tokens.json";
  if (std::filesystem::exists(added_path)) {
    const json added = read_json_object_file(added_path);
    const JsonFields fields(added, added_path.string());
    for (const auto& [token, value] : added.items()) {
      AddedToken t;
      t.content = decode_utf8(token);
      t.id = static_cast<int32_t>(fields.integer_value(value, token, 0, kMaxTokenId));
      t.special = true;  // transformers treats added_tokens.json entries of these models as special
      if (seen.insert(t.id).second) out.add(std::move(t));
    }
  }
}

void add_special_tokens(const std::vector<std::string>& names, const Model& model, AddedTokens& out) {
  for (const std::string& name : names) {
    const std::u32string content = decode_utf8(name);
    const bool present = out.find_raw(content) >= 0;
    const int32_t id = model.token_to_id(name);
    if (present || id < 0) continue;
    AddedToken t;
    t.content = content;
    t.id = id;
    t.special = true;
    out.add(std::move(t));
  }
}

int32_t added_token_id(const std::string& content, const Model& model, const AddedTokens& added) {
  const std::u32string wanted = decode_utf8(content);
  if (const int32_t id = added.find_raw(wanted); id >= 0) return id;
  const int32_t max_added = added.max_id();
  if (const int32_t id = model.token_to_id(content); id >= 0) return id;
  const auto vocab_size = static_cast<int32_t>(model.size());
  if (max_added < 0) return vocab_size;
  return max_added >= vocab_size || vocab_size == 0 ? max_added + 1 : vocab_size;
}

void add_new_special_tokens(const std::vector<std::string>& names, const Model& model, AddedTokens& out) {
  for (const std::string& name : names) {
    const std::u32string content = decode_utf8(name);
    if (content.empty() || out.find_raw(content) >= 0) continue;
    AddedToken t;
    t.content = content;
    t.id = added_token_id(name, model, out);
    t.special = true;
    out.add(std::move(t));
  }
}

}  // namespace qp::tok
