#include "tokenize/byte_level.h"

#include <array>

#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

std::array<char32_t, 256> make_alphabet() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return table;
}

const std::array<char32_t, 256> kAlphabet = make_alphabet();

// The pattern GPT-2 (and Hugging Face's ByteLevel) splits words with.
const char32_t kGpt2Pattern[] =
    U"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern, false, "ByteLevel");
  }

  void split(Words& w) const override {
    // Pieces first (over the possibly space-prefixed word), then all rewritten into a new text.
    w.next.clear();
    std::u32string& prefixed = w.rewritten;
    prefixed.clear();
    for (const Span& span : w.spans) {
      const size_t begin = prefixed.size();
      if (add_prefix_space_ && (span.first == span.second || w.text[span.first] != U' '))
        prefixed.push_back(U' ');
      prefixed.append(w.text, span.first, span.second - span.first);
      const Span word{begin, prefixed.size()};
      if (word.first == word.second) continue;
      if (regex_) {
        w.matches.clear();
        regex_->find_all(prefixed, word, w.matches);
        // The pattern matches every character, so its matches are the words (Isolated).
        w.next.insert(w.next.end(), w.matches.begin(), w.matches.end());
      } else {
        w.next.push_back(word);
      }
    }
    w.text.clear();
    w.spans.clear();
    std::string utf8;
    for (const Span& piece : w.next) {
      const size_t begin = w.text.size();
      utf8.clear();
      for (size_t i = piece.first; i < piece.second; ++i) append_utf8(prefixed[i], utf8);
      for (unsigned char c : utf8) w.text.push_back(kAlphabet[c]);
      w.spans.emplace_back(begin, w.text.size());
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

}  // namespace

char32_t byte_to_char(unsigned char byte) { return kAlphabet[byte]; }

std::unique_ptr<PreTokenizer> make_byte_level(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevel>(add_prefix_space, use_regex);
}

std::unique_ptr<PreTokenizer> make_byte_level(const JsonFields& spec) {
  return make_byte_level(spec.boolean_or("add_prefix_space", true), spec.boolean_or("use_regex", true));
}

}  // namespace qp::tok
