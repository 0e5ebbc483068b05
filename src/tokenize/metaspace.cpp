// Metaspace pre-tokenizer (SentencePiece's view of spaces): ' ' becomes the
// replacement ("▁"), a "▁" is prepended (prepend_scheme always, first: only at
// the start of the input, never), and with split each "▁" starts a new word.
#include <algorithm>

#include "core/error.h"
#include "tokenize/pre_tokenizer.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

enum class Prepend { Always, First, Never };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(char32_t replacement, Prepend prepend, bool split)
      : replacement_(replacement), prepend_(prepend), split_(split) {}

  void split(Words& w) const override {
    w.rewritten.clear();
    w.next.clear();
    for (const Span& span : w.spans) {
      const size_t begin = w.rewritten.size();
      const bool starts_with_replacement =
          span.first < span.second && (w.text[span.first] == U' ' || w.text[span.first] == replacement_);
      const bool prepend =
          !starts_with_replacement &&
          (prepend_ == Prepend::Always || (prepend_ == Prepend::First && w.starts_input && span.first == 0));
      if (prepend) w.rewritten.push_back(replacement_);
      for (size_t i = span.first; i < span.second; ++i)
        w.rewritten.push_back(w.text[i] == U' ' ? replacement_ : w.text[i]);
      const size_t end = w.rewritten.size();
      if (!split_) {
        if (begin < end) w.next.emplace_back(begin, end);
        continue;
      }
      // MergedWithNext: each replacement begins a word.
      size_t start = begin;
      for (size_t i = begin; i < end; ++i) {
        if (w.rewritten[i] == replacement_ && i > start) {
          w.next.emplace_back(start, i);
          start = i;
        }
      }
      if (start < end) w.next.emplace_back(start, end);
    }
    w.text.swap(w.rewritten);
    w.spans.swap(w.next);
  }

 private:
  char32_t replacement_;
  Prepend prepend_;
  bool split_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_metaspace(const JsonFields& spec) {
  const std::u32string replacement = decode_utf8(spec.string_or("replacement", "\u2581"));
  if (replacement.size() != 1)
    spec.error("replacement", "is ", json_excerpt(spec.string("replacement")), ", expected one character");
  // Older files: add_prefix_space true/false instead of prepend_scheme.
  std::string scheme = spec.boolean_or("add_prefix_space", true) ? "always" : "never";
  scheme = spec.string_or("prepend_scheme", scheme);
  const std::pair<const char*, Prepend> schemes[] = {
      {"always", Prepend::Always}, {"first", Prepend::First}, {"never", Prepend::Never}};
  const auto* row =
      std::find_if(std::begin(schemes), std::end(schemes), [&](const auto& s) { return scheme == s.first; });
  if (row == std::end(schemes))
    spec.error("prepend_scheme", "is ", json_excerpt(scheme), ", expected always, first or never");
  return std::make_unique<Metaspace>(replacement[0], row->second, spec.boolean_or("split", true));
}

}  // namespace qp::tok
