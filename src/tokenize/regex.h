// Regular expressions of tokenizer.json (Split, Replace, ByteLevel's GPT-2
// pattern) over code points, through PCRE2's 32-bit library with Unicode
// properties (PCRE2_UTF | PCRE2_UCP) and JIT. Compiled once, shared by threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

struct pcre2_real_code_32;

namespace qp {
class JsonFields;
}

namespace qp::tok {

using Span = std::pair<size_t, size_t>;

class Regex {
 public:
  // literal: the pattern is a plain string (Split's {"String": ...}). `what` names
  // the file and key in the error a bad pattern gives.
  Regex(const std::u32string& pattern, bool literal, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the non-empty, non-overlapping matches in text[range] (the subject is
  // that range alone, so look-arounds stop at its ends), as absolute spans.
  void find_all(const std::u32string& text, Span range, std::vector<Span>& matches) const;

 private:
  pcre2_real_code_32* code_ = nullptr;
};

// The regex of a tokenizer.json step's "pattern" ({"Regex": …} or a literal
// {"String": …}), as Split and Replace give it; errors name the file and key.
std::unique_ptr<Regex> regex_from_pattern(const JsonFields& spec);

}  // namespace qp::tok
