// Reads a Hugging Face tokenizer.json into TokenizerParts.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_read.h"
#include "tokenize/tokenizer_config.h"
#include "tokenize/tokenizer_impl.h"
#include "tokenize/unicode.h"
#include "tokenize/vocab_read.h"

namespace qp::tok {

namespace {

using nlohmann::json;

void parse_added_tokens(const JsonFields& root, const Model& model, const Normalizer* normalizer,
                        AddedTokens& out) {
  if (!root.has("added_tokens")) return;
  const json& list = root.array("added_tokens");
  std::u32string scratch;
  for (size_t i = 0; i < list.size(); ++i) {
    const JsonFields entry(list[i], root.file(), cat("added_tokens[", i, "]"));
    AddedToken t;
    const std::string content = entry.string("content");
    t.raw_content = decode_utf8(content);
    t.content = t.raw_content;
    entry.integer("id", 0, kMaxTokenId);  // checked, though the id is assigned as HF does
    t.id = added_token_id(content, model, out);
    t.special = entry.boolean_or("special", false);
    t.normalized = entry.boolean_or("normalized", !t.special);
    t.lstrip = entry.boolean_or("lstrip", false);
    t.rstrip = entry.boolean_or("rstrip", false);
    t.single_word = entry.boolean_or("single_word", false);
    if (t.normalized && normalizer) normalizer->normalize(t.content, scratch);
    out.add(std::move(t));
  }
}

struct NamedStrategy {
  const char* name;
  TruncationStrategy strategy;
};
constexpr NamedStrategy kTruncationStrategies[] = {{"LongestFirst", TruncationStrategy::LongestFirst},
                                                   {"OnlyFirst", TruncationStrategy::OnlyFirst},
                                                   {"OnlySecond", TruncationStrategy::OnlySecond}};

std::optional<Truncation> parse_truncation(const JsonFields& root) {
  const std::optional<JsonFields> spec = root.object_if_present("truncation");
  if (!spec) return std::nullopt;
  Truncation t;
  t.max_length = static_cast<int>(spec->integer("max_length", 1, 1 << 24));
  const std::string strategy = spec->string_or("strategy", "LongestFirst");
  const auto* row = std::find_if(std::begin(kTruncationStrategies), std::end(kTruncationStrategies),
                                 [&](const NamedStrategy& r) { return strategy == r.name; });
  if (row == std::end(kTruncationStrategies))
    spec->error("strategy", "is ", json_excerpt(strategy),
                ", expected LongestFirst, OnlyFirst or OnlySecond");
  t.strategy = row->strategy;
  const std::string direction = spec->string_or("direction", "Right");
  if (direction != "Right" && direction != "Left")
    spec->error("direction", "is ", json_excerpt(direction), ", expected Right or Left");
  t.from_left = direction == "Left";
  return t;
}

int32_t parse_pad_id(const JsonFields& root, const TokenizerParts& parts) {
  if (const auto padding = root.object_if_present("padding"); padding && padding->has("pad_id"))
    return static_cast<int32_t>(padding->integer("pad_id", 0, kMaxTokenId));
  for (const char* name : {"[PAD]", "<pad>", "<|padding|>"})
    if (const int32_t id = find_token_id(parts, name); id >= 0) return id;
  return 0;
}

TokenizerParts parse(const JsonFields& root, Vocab& read_ahead) {
  TokenizerParts parts;
  parts.model = make_model(root.object("model"), &read_ahead);
  if (const auto spec = root.object_if_present("normalizer")) parts.normalizer = make_normalizer(*spec);
  if (const auto spec = root.object_if_present("pre_tokenizer"))
    parts.pre_tokenizer = make_pre_tokenizer(*spec);
  parse_added_tokens(root, *parts.model, parts.normalizer.get(), parts.added_tokens);
  if (const auto spec = root.object_if_present("post_processor"))
    parts.post_processor = make_post_processor(*spec);
  parts.truncation = parse_truncation(root);
  parts.pad_id = parse_pad_id(root, parts);
  return parts;
}

}  // namespace

TokenizerParts load_tokenizer_json(const std::filesystem::path& path) {
  try {
    // The vocabulary goes straight into its hash map (a third of the load time
    // of a small quantized model went to building and freeing its JSON tree).
    Vocab vocab;
    const JsonDivert divert = read_ahead_vocab_divert(path.string(), vocab);
    const json root = read_json_object_file(path, &divert);
    return parse(JsonFields(root, path.string()), vocab);
  } catch (const Error& e) {
    fail("[tokenizer] ", e.what());
  }
}

}  // namespace qp::tok
