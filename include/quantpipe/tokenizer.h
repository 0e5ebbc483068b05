// Tokenizer built from a Hugging Face tokenizer.json (fallbacks: vocab.txt +
// tokenizer_config.json; vocab.json + merges.txt; spm.model; sentencepiece.bpe.model).
// Models WordPiece, BPE (byte-level or not), Unigram and WordLevel; normalizers BertNormalizer,
// Lowercase, StripAccents, NFD/NFC/NFKD/NFKC, Strip, Replace, Prepend, Precompiled, ByteLevel,
// Nmt, Sequence; pre-tokenizers BertPreTokenizer, ByteLevel, Metaspace, Split,
// Whitespace, WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit, Sequence; added tokens matched
// in the text; TemplateProcessing / BertProcessing / RobertaProcessing / ByteLevel /
// Sequence; truncation (LongestFirst, OnlyFirst, OnlySecond; Right or Left) and
// padding. Ids match the Hugging Face tokenizers library (tests/golden/tokenizers).
// encode() is const and keeps no per-call state, so one Tokenizer may serve
// several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantpipe/types.h"

namespace qp {

// Token ids are int32 everywhere (as in Hugging Face's tokenizers); a file
// naming a larger or negative id is refused where it is read.
inline constexpr int64_t kMaxTokenId = 2147483647;

class Tokenizer {
 public:
  // Loads <dir>/tokenizer.json, else <dir>/vocab.txt (+ tokenizer_config.json), else
  // <dir>/vocab.json + merges.txt, else <dir>/spm.model (DeBERTa-v2/v3), else
  // <dir>/sentencepiece.bpe.model (XLM-R).
  // Throws qp::Error naming the file and the problem.
  static Tokenizer from_dir(const std::filesystem::path& dir);
  static Tokenizer from_tokenizer_json(const std::filesystem::path& path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // max_length <= 0 means the tokenizer's own truncation setting (else none).
  // Text that is not valid UTF-8 throws qp::Error.
  Encoding encode(std::string_view text, std::optional<std::string_view> pair = std::nullopt,
                  int max_length = 0) const;

  // The ids of one text alone: no special tokens, no truncation (what Hugging
  // Face's encode(text, add_special_tokens=False) gives without a truncation setting).
  std::vector<int32_t> encode_without_special_tokens(std::string_view text) const;
  // Whether id is a special token: one the post-processor adds ([CLS], </s>),
  // an added token marked special, or padding.
  bool is_special_token(int32_t id) const;
  // Truncation length from tokenizer.json / tokenizer_config.json, if any.
  std::optional<int> default_max_length() const;
  int pad_token_id() const;
  int32_t token_to_id(std::string_view token) const;  // -1 when unknown
  std::optional<std::string> id_to_token(int32_t id) const;
  size_t vocab_size() const;
  // The largest id encode() can produce (vocabulary, added and special tokens,
  // padding): a model must have at least this many + 1 embedding rows.
  int32_t max_token_id() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Pads encodings to the longest one (right side) with pad_id; mask 0 on pads.
void pad_to_longest(std::vector<Encoding>& batch, int32_t pad_id);

}  // namespace qp
