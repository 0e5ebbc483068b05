// Added tokens ("added_tokens" in tokenizer.json) found literally in the text, as
// Hugging Face does: tokens with normalized=false are matched on the raw text, the
// others on the normalized text; leftmost-longest; lstrip/rstrip take the
// neighbouring whitespace; single_word needs word boundaries on both sides.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenize/pre_tokenizer.h"

namespace qp::tok {

struct AddedToken {
  std::u32string content;      // already normalized when normalized is true
  std::u32string raw_content;  // as the file spells it (empty: same as content)
  int32_t id = -1;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of text: either a matched added token (id >= 0) or plain text to tokenize.
struct Segment {
  Span span;
  int32_t id = -1;
};

class AddedTokens {
 public:
  void add(AddedToken token);
  bool empty() const { return tokens_.empty(); }
  int32_t max_id() const { return max_id_; }  // -1 when there are none
  // The id of the first token added with this raw content, or -1.
  int32_t find_raw(const std::u32string& raw_content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

  // Cuts text[span] into segments using the tokens whose normalized flag equals
  // `normalized`; appends to out.
  void split(const std::u32string& text, Span span, bool normalized, std::vector<Segment>& out) const;

 private:
  // Index of the longest token matching at text[pos], or -1.
  int longest_match(const std::u32string& text, size_t pos, size_t end, bool normalized) const;

  std::vector<AddedToken> tokens_;
  // Indices of the tokens starting with each character: only those are tried at a position.
  std::unordered_map<char32_t, std::vector<int>> by_first_char_;
  // Raw content -> id of the first token with it: lookups while a file's
  // tokens are added stay linear in their number.
  std::unordered_map<std::u32string, int32_t> by_raw_content_;
  int32_t max_id_ = -1;
};

}  // namespace qp::tok
