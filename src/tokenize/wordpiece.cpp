#include "tokenize/wordpiece.h"

#include <algorithm>

#include "core/error.h"
#include "tokenize/unicode.h"

namespace qp::tok {

WordPiece::WordPiece(Vocab vocab, std::string unk_token, std::string prefix, size_t max_input_chars_per_word)
    : vocab_(std::move(vocab)), prefix_(std::move(prefix)), max_chars_(max_input_chars_per_word) {
  unk_id_ = token_to_id(unk_token);
  if (unk_id_ < 0) fail("WordPiece unk_token '", unk_token, "' is not in the vocabulary");
}

int32_t WordPiece::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

void WordPiece::tokenize(std::u32string_view word, std::vector<int32_t>& ids, WordPieceScratch& s) const {
  if (word.size() > max_chars_) {
    ids.push_back(unk_id_);
    return;
  }
  s.utf8.clear();
  s.offsets.clear();
  for (char32_t cp : word) {
    s.offsets.push_back(s.utf8.size());
    append_utf8(cp, s.utf8);
  }
  s.offsets.push_back(s.utf8.size());

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

int32_t WordPiece::max_id() const {
  int32_t max = -1;
  for (const auto& [token, id] : vocab_) max = std::max(max, id);
  return max;
}

}  // namespace qp::tok
