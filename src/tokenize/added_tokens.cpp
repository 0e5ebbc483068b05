#include "tokenize/added_tokens.h"

#include <algorithm>

#include "tokenize/unicode.h"

namespace qp::tok {

void AddedTokens::add(AddedToken token) {
  if (token.content.empty()) return;
  if (token.raw_content.empty()) token.raw_content = token.content;
  by_first_char_[token.content[0]].push_back(static_cast<int>(tokens_.size()));
  by_raw_content_.emplace(token.raw_content, token.id);
  max_id_ = std::max(max_id_, token.id);
  tokens_.push_back(std::move(token));
}

int32_t AddedTokens::find_raw(const std::u32string& raw_content) const {
  const auto it = by_raw_content_.find(raw_content);
  return it == by_raw_content_.end() ? -1 : it->second;
}

int AddedTokens::longest_match(const std::u32string& text, size_t pos, size_t end, bool normalized) const {
  int best = -1;
  size_t best_len = 0;
  const auto candidates = by_first_char_.find(text[pos]);
  if (candidates == by_first_char_.end()) return -1;
  for (const int t : candidates->second) {
    const AddedToken& tok = tokens_[t];
    const size_t len = tok.content.size();
    if (tok.normalized != normalized || len <= best_len || len > end - pos) continue;
    if (text.compare(pos, len, tok.content) == 0) {
      best = t;
      best_len = len;
    }
  }
  return best;
}

void AddedTokens::split(const std::u32string& text, Span span, bool normalized,
                        std::vector<Segment>& out) const {
  const auto [begin, end] = span;
  size_t emitted = begin;  // end of what is already in out
  size_t pos = begin;
  while (pos < end) {
    const int t = longest_match(text, pos, end, normalized);
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t start = pos;
    size_t stop = pos + tok.content.size();
    if (tok.single_word) {
      const bool left_ok = start == begin || !is_word_char(text[start - 1]);
      const bool right_ok = stop == end || !is_word_char(text[stop]);
      if (!left_ok || !right_ok) {
        pos = stop;
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > emitted && is_whitespace(text[start - 1])) --start;
    }
    if (tok.rstrip) {
      while (stop < end && is_whitespace(text[stop])) ++stop;
    }
    if (emitted < start) out.push_back({{emitted, start}, -1});
    out.push_back({{start, stop}, tok.id});
    emitted = stop;
    pos = stop;
  }
  if (emitted < end) out.push_back({{emitted, end}, -1});
}

}  // namespace qp::tok
