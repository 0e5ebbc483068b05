// The tokenizer model: turns one pre-tokenized word into ids. WordPiece, BPE,
// Unigram and WordLevel implement it; make_model() picks one from
// tokenizer.json's model.type through a table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json_fields.h"

namespace qp::tok {

using qp::JsonFields;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Buffers reused across the words of one encode call (models are const and shared).
struct ModelScratch {
  std::string utf8;
  std::vector<size_t> offsets;  // byte offset of each code point in utf8, plus the end
  std::string candidate;
  std::vector<int32_t> symbols;
  std::vector<double> scores;
  std::vector<int32_t> back;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one word (code points) to ids.
  virtual void tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& scratch) const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when unknown
  virtual const std::string* id_to_token(int32_t id) const = 0;   // null when unknown
  virtual size_t size() const = 0;
  virtual int32_t max_id() const = 0;  // -1 for an empty vocabulary
};

// Fills scratch.utf8 / scratch.offsets from word.
void encode_word_utf8(std::u32string_view word, ModelScratch& scratch);

// Reverse lookup table of a vocabulary. Ids may have gaps, up to a largest id
// of kMaxVocabIdGapFactor x entries + kMaxVocabIdSlack; past that throws
// qp::Error naming `source`.
inline constexpr size_t kMaxVocabIdGapFactor = 4;
inline constexpr size_t kMaxVocabIdSlack = 65536;
std::vector<const std::string*> invert_vocab(const Vocab& vocab, const std::string& source = "");
int32_t max_vocab_id(const Vocab& vocab);

// Builds the model from tokenizer.json's "model" object. A missing "type" is
// guessed as older files need (merges: BPE, continuing_subword_prefix: WordPiece).
// Throws qp::Error naming the file and an unsupported type.
// `read_ahead`: the vocabulary taken during the parse, if it was (see
// read_ahead_vocab_divert in vocab_read.h).
std::unique_ptr<Model> make_model(const JsonFields& spec, Vocab* read_ahead = nullptr);

}  // namespace qp::tok
