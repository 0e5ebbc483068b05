// Reads a Hugging Face tokenizer.json into TokenizerParts.
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenize/tokenizer_impl.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

using nlohmann::json;

WordPiece parse_model(const json& spec) {
  const std::string type = spec.value("type", spec.contains("continuing_subword_prefix") ? "WordPiece" : "");
  if (type != "WordPiece") fail("unsupported model type '", type, "' (supported: WordPiece)");
  Vocab vocab;
  const auto& entries = spec.at("vocab");
  vocab.reserve(entries.size());
  for (const auto& [token, id] : entries.items()) vocab.emplace(token, id.get<int32_t>());
  return WordPiece(std::move(vocab), spec.value("unk_token", "[UNK]"),
                   spec.value("continuing_subword_prefix", "##"),
                   spec.value("max_input_chars_per_word", size_t{100}));
}

void parse_added_tokens(const json& list, const Normalizer* normalizer, AddedTokens& out) {
  std::u32string scratch;
  for (const auto& entry : list) {
    AddedToken t;
    t.content = decode_utf8(entry.at("content").get<std::string>());
    t.id = entry.at("id").get<int32_t>();
    t.special = entry.value("special", false);
    t.normalized = entry.value("normalized", !t.special);
    t.lstrip = entry.value("lstrip", false);
    t.rstrip = entry.value("rstrip", false);
    t.single_word = entry.value("single_word", false);
    if (t.normalized && normalizer) normalizer->normalize(t.content, scratch);
    out.add(std::move(t));
  }
}

std::optional<Truncation> parse_truncation(const json& spec) {
  if (spec.is_null()) return std::nullopt;
  Truncation t;
  t.max_length = spec.at("max_length").get<int>();
  const std::string strategy = spec.value("strategy", "LongestFirst");
  if (strategy == "LongestFirst")
    t.strategy = TruncationStrategy::LongestFirst;
  else if (strategy == "OnlyFirst")
    t.strategy = TruncationStrategy::OnlyFirst;
  else if (strategy == "OnlySecond")
    t.strategy = TruncationStrategy::OnlySecond;
  else
    fail("unsupported truncation strategy '", strategy, "'");
  const std::string direction = spec.value("direction", "Right");
  if (direction != "Right" && direction != "Left") fail("unsupported truncation direction '", direction, "'");
  t.from_left = direction == "Left";
  return t;
}

int32_t parse_pad_id(const json& root, const WordPiece& model) {
  const auto padding = root.find("padding");
  if (padding != root.end() && padding->is_object() && padding->contains("pad_id"))
    return padding->at("pad_id").get<int32_t>();
  for (const char* name : {"[PAD]", "<pad>"})
    if (const int32_t id = model.token_to_id(name); id >= 0) return id;
  return 0;
}

TokenizerParts parse(const json& root) {
  TokenizerParts parts;
  parts.model = parse_model(root.at("model"));
  parts.normalizer = make_normalizer(root.value("normalizer", json()));
  parts.pre_tokenizer = make_pre_tokenizer(root.value("pre_tokenizer", json()));
  parse_added_tokens(root.value("added_tokens", json::array()), parts.normalizer.get(), parts.added_tokens);
  parts.post_processor = make_post_processor(root.value("post_processor", json()));
  parts.truncation = parse_truncation(root.value("truncation", json()));
  parts.pad_id = parse_pad_id(root, parts.model);
  return parts;
}

}  // namespace

TokenizerParts load_tokenizer_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail("[tokenizer] cannot open ", path.string());
  try {
    return parse(json::parse(in));
  } catch (const json::exception& e) {
    fail("[tokenizer] ", path.string(), ": ", e.what());
  } catch (const Error& e) {
    fail("[tokenizer] ", path.string(), ": ", e.what());
  }
}

}  // namespace qp::tok
