#include "tokenize/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 32
#include <pcre2.h>

#include <memory>

#include "core/error.h"
#include "core/json_fields.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

// Oniguruma's Unicode classes (Hugging Face compiles patterns with Oniguruma):
// \w is Alphabetic, marks, decimal digits, connector punctuation and the join
// controls, \s is White_Space. PCRE2 10.42's UCP \w (letters, all numbers, '_')
// and \s (no U+0085) differ, so the shorthands are spelled out.
constexpr char32_t kWordClass[] = U"\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}";
constexpr char32_t kSpaceClass[] = U"\\p{White_Space}";

std::u32string onig_classes(const std::u32string& pattern) {
  std::u32string out;
  bool in_class = false;
  size_t class_start = 0;  // index in out of the first character inside the class
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char32_t c = pattern[i];
    if (c == U'\\' && i + 1 < pattern.size()) {
      const char32_t e = pattern[++i];
      const bool negated = e == U'W' || e == U'S';
      const char32_t* set = (e == U'w' || e == U'W')   ? kWordClass
                            : (e == U's' || e == U'S') ? kSpaceClass
                                                       : nullptr;
      if (set && in_class && !negated) {
        out += set;
      } else if (set && !in_class) {
        out += negated ? U"[^" : U"[";
        out += set;
        out += U']';
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == U'[' && !in_class) {
      in_class = true;
      class_start = out.size() + 1;
    } else if (c == U']' && in_class) {
      // A ']' right after "[" or "[^" is a literal member, not the end.
      const size_t first = class_start + (class_start < out.size() && out[class_start] == U'^' ? 1 : 0);
      if (out.size() > first) in_class = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

Regex::Regex(const std::u32string& source, bool literal, const std::string& what) {
  const std::u32string pattern = literal ? source : onig_classes(source);
  int error = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2_LITERAL admits no PCRE2_UCP (nothing to classify in a plain string).
  const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                        &offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, 256);
    std::u32string text;
    for (const PCRE2_UCHAR* p = message; *p; ++p) text.push_back(static_cast<char32_t>(*p));
    fail(what, ": the regular expression ", encode_utf8(source), " does not compile at character ", offset,
         ": ", encode_utf8(text));
  }
  pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) matching still works
}

Regex::~Regex() { pcre2_code_free(code_); }

void Regex::find_all(const std::u32string& text, Span range, std::vector<Span>& matches) const {
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data() + range.first);
  const size_t length = range.second - range.first;
  // One pair of offsets is all a match needs; one block per thread serves every pattern.
  static thread_local std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
  size_t pos = 0;
  while (pos < length) {
    const int rc = pcre2_match(code_, subject, length, pos, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, 256);
      std::string text8;
      for (const PCRE2_UCHAR* p = message; *p; ++p) append_utf8(static_cast<char32_t>(*p), text8);
      fail("[tokenizer] regular expression match failed: ", text8);
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
    if (ov[1] == ov[0]) {  // an empty match splits nothing: look again one character on
      pos = ov[1] + 1;
      continue;
    }
    matches.emplace_back(range.first + ov[0], range.first + ov[1]);
    pos = ov[1];
  }
}

std::unique_ptr<Regex> regex_from_pattern(const JsonFields& spec) {
  const JsonFields pattern = spec.object("pattern");
  const std::string where = cat(spec.file(), ": key '", spec.key_path("pattern"), "'");
  if (pattern.has("Regex"))
    return std::make_unique<Regex>(decode_utf8(pattern.string("Regex")), false, where);
  if (pattern.has("String"))
    return std::make_unique<Regex>(decode_utf8(pattern.string("String")), true, where);
  fail(where, " has neither \"Regex\" nor \"String\"");
}

}  // namespace qp::tok
