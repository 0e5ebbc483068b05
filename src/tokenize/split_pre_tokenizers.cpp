// Pre-tokenizers that cut by a pattern and keep words per a SplitBehavior:
// Split (string or regex), Punctuation, Digits, Whitespace, CharDelimiterSplit.
#include <utf8proc.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenize/pre_tokenizer.h"
#include "tokenize/split_behavior.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

bool is_numeric(char32_t cp) {
  const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

class RegexSplit final : public PreTokenizer {
 public:
  RegexSplit(std::unique_ptr<Regex> regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}

  void split(Words& w) const override {
    w.next.clear();
    for (const Span& span : w.spans) {
      w.matches.clear();
      regex_->find_all(w.text, span, w.matches);
      split_by_matches(span, w.matches, behavior_, invert_, w.next);
    }
    w.spans.swap(w.next);
  }

 private:
  std::unique_ptr<Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Every character the predicate accepts is a match of its own.
class CharClassSplit final : public PreTokenizer {
 public:
  CharClassSplit(bool (*accept)(char32_t), SplitBehavior behavior) : accept_(accept), behavior_(behavior) {}

  void split(Words& w) const override {
    w.next.clear();
    for (const Span& span : w.spans) {
      w.matches.clear();
      for (size_t i = span.first; i < span.second; ++i)
        if (accept_(w.text[i])) w.matches.emplace_back(i, i + 1);
      split_by_matches(span, w.matches, behavior_, false, w.next);
    }
    w.spans.swap(w.next);
  }

 private:
  bool (*accept_)(char32_t);
  SplitBehavior behavior_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_split(const JsonFields& spec) {
  std::unique_ptr<Regex> regex = regex_from_pattern(spec);
  return std::make_unique<RegexSplit>(std::move(regex),
                                      parse_split_behavior(spec, "behavior", SplitBehavior::Removed),
                                      spec.boolean_or("invert", false));
}

std::unique_ptr<PreTokenizer> make_punctuation(const JsonFields& spec) {
  return std::make_unique<CharClassSplit>(is_bert_punctuation,
                                          parse_split_behavior(spec, "behavior", SplitBehavior::Isolated));
}

std::unique_ptr<PreTokenizer> make_digits(const JsonFields& spec) {
  const bool individual = spec.boolean_or("individual_digits", false);
  return std::make_unique<CharClassSplit>(is_numeric,
                                          individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
}

std::unique_ptr<PreTokenizer> make_char_delimiter_split(const JsonFields& spec) {
  const std::u32string delimiter = decode_utf8(spec.string("delimiter"));
  if (delimiter.size() != 1)
    spec.error("delimiter", "is ", json_excerpt(spec.string("delimiter")), ", expected one character");
  return std::make_unique<RegexSplit>(
      std::make_unique<Regex>(delimiter, true, cat(spec.file(), ": key '", spec.key_path("delimiter"), "'")),
      SplitBehavior::Removed, false);
}

// Words of letters/digits/underscore, or of other non-space characters (\w+|[^\w\s]+).
std::unique_ptr<PreTokenizer> make_whitespace(const JsonFields&) {
  return std::make_unique<RegexSplit>(std::make_unique<Regex>(U"\\w+|[^\\w\\s]+", false, "Whitespace"),
                                      SplitBehavior::Removed, true);
}

}  // namespace qp::tok
