// WordPiece model: greedy longest-match-first over a vocabulary, continuation
// pieces carry a prefix ("##"); a word with an unknown piece or more than
// max_input_chars_per_word characters becomes the unknown token.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qp::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Buffers reused across the words of one encode call.
struct WordPieceScratch {
  std::string utf8;
  std::vector<size_t> offsets;
  std::string candidate;
};

class WordPiece {
 public:
  WordPiece() = default;
  // Throws qp::Error when unk_token is not in the vocabulary.
  WordPiece(Vocab vocab, std::string unk_token, std::string prefix, size_t max_input_chars_per_word);

  // Appends the ids of one pre-tokenized word (code points) to ids.
  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, WordPieceScratch& scratch) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when unknown
  size_t size() const { return vocab_.size(); }
  int32_t unk_id() const { return unk_id_; }
  int32_t max_id() const;  // -1 for an empty vocabulary

 private:
  Vocab vocab_;
  std::string prefix_;
  size_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

}  // namespace qp::tok
