#include "tokenize/wordpiece.h"

#include "core/error.h"
#include "tokenize/vocab_read.h"

namespace qp::tok {

WordPiece::WordPiece(Vocab vocab, std::string unk_token, std::string prefix, size_t max_input_chars_per_word)
    : vocab_(std::move(vocab)), prefix_(std::move(prefix)), max_chars_(max_input_chars_per_word) {
  tokens_ = invert_vocab(vocab_);
  unk_id_ = token_to_id(unk_token);
  if (unk_id_ < 0) fail("WordPiece unk_token '", unk_token, "' is not in the vocabulary");
}

int32_t WordPiece::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* WordPiece::id_to_token(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < tokens_.size() ? tokens_[id] : nullptr;
}

void WordPiece::tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& s) const {
  if (word.size() > max_chars_) {
    ids.push_back(unk_id_);
    return;
  }
  encode_word_utf8(word, s);
  const size_t first = ids.size();
  const size_t n = word.size();
  size_t start = 0;
  while (start < n) {
    int32_t found = -1;
    size_t end = n;
    for (; end > start; --end) {
      const std::string_view piece(s.utf8.data() + s.offsets[start], s.offsets[end] - s.offsets[start]);
      if (start == 0) {
        found = token_to_id(piece);
      } else {
        s.candidate.assign(prefix_);
        s.candidate.append(piece);
        found = token_to_id(s.candidate);
      }
      if (found >= 0) break;
    }
    if (found < 0) {
      ids.resize(first);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

std::unique_ptr<Model> make_wordpiece(const JsonFields& spec, Vocab* read_ahead) {
  const int64_t max_chars = spec.integer_or("max_input_chars_per_word", 100, 1, 1 << 30);
  return std::make_unique<WordPiece>(
      read_vocab_object(spec, "vocab", read_ahead), spec.string_or("unk_token", "[UNK]"),
      spec.string_or("continuing_subword_prefix", "##"), static_cast<size_t>(max_chars));
}

}  // namespace qp::tok
