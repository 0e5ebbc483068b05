#include "tokenize/precompiled_charsmap.h"

#include <utf8proc.h>

#include <cstring>

#include "core/error.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

// Darts-clone unit layout.
bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
uint32_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

class Precompiled final : public Normalizer {
 public:
  explicit Precompiled(PrecompiledCharsmap map) : map_(std::move(map)) {}
  void normalize(std::u32string& text, std::u32string&) const override { map_.normalize(text); }

 private:
  PrecompiledCharsmap map_;
};

}  // namespace

std::string decode_base64(std::string_view text, const std::string& what) {
  auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') break;
    const int d = digit(c);
    if (d < 0) fail(what, ": not base64 (character ", i, ")");
    bits = (bits << 6) | static_cast<uint32_t>(d);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFF));
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
      out.push_back(static_cast<char>(bits & 0xFF));
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xFF));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xFF));
    out.push_back(static_cast<char>((bits >> 2) & 0xFF));
  }
  return out;
}

PrecompiledCharsmap::PrecompiledCharsmap(std::string blob, const std::string& what) {
  if (blob.empty()) return;  // no map: text passes unchanged
  if (blob.size() < 4) fail(what, ": the precompiled charsmap is shorter than its 4-byte header");
  uint32_t trie_bytes = 0;
  std::memcpy(&trie_bytes, blob.data(), 4);  // little-endian, as every supported host is
  if (trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4 || trie_bytes == 0)
    fail(what, ": the precompiled charsmap's trie size ", trie_bytes, " does not fit its ", blob.size(),
         " bytes");
  units_.resize(trie_bytes / 4);
  std::memcpy(units_.data(), blob.data() + 4, trie_bytes);
  strings_ = blob.substr(4 + trie_bytes);
}

bool PrecompiledCharsmap::transform(std::string_view chunk, std::string_view& replacement) const {
  if (units_.empty()) return false;
  size_t node = 0;
  uint32_t unit = units_[node];
  node ^= offset(unit);
  for (unsigned char c : chunk) {
    if (c == 0) break;
    node ^= c;
    if (node >= units_.size()) return false;
    unit = units_[node];
    if (label(unit) != c) return false;
    node ^= offset(unit);
    if (node >= units_.size()) return false;
    if (has_leaf(unit)) {
      const size_t start = value(units_[node]);
      if (start >= strings_.size()) return false;
      const size_t stop = strings_.find('\0', start);
      replacement = std::string_view(strings_).substr(
          start, (stop == std::string::npos ? strings_.size() : stop) - start);
      return true;  // the first (shortest) match, as HF takes results[0]
    }
  }
  return false;
}

void PrecompiledCharsmap::normalize(std::u32string& text) const {
  std::u32string out;
  out.reserve(text.size());
  std::string grapheme, part;
  std::string_view replacement;
  auto append_replacement = [&] { out += decode_utf8(replacement); };
  size_t i = 0;
  while (i < text.size()) {
    // One extended grapheme cluster: text[i, j).
    size_t j = i + 1;
    utf8proc_int32_t state = 0;
    while (j < text.size() &&
           !utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(text[j - 1]),
                                             static_cast<utf8proc_int32_t>(text[j]), &state))
      ++j;
    grapheme.clear();
    for (size_t k = i; k < j; ++k) append_utf8(text[k], grapheme);
    if (grapheme.size() < 6 && transform(grapheme, replacement)) {
      append_replacement();
    } else {
      for (size_t k = i; k < j; ++k) {
        part.clear();
        append_utf8(text[k], part);
        if (transform(part, replacement))
          append_replacement();
        else
          out.push_back(text[k]);
      }
    }
    i = j;
  }
  text.swap(out);
}

std::unique_ptr<Normalizer> make_precompiled(std::string blob, const std::string& what) {
  return std::make_unique<Precompiled>(PrecompiledCharsmap(std::move(blob), what));
}

std::unique_ptr<Normalizer> make_precompiled(const JsonFields& spec) {
  const std::string what = cat(spec.file(), ": key '", spec.key_path("precompiled_charsmap"), "'");
  return make_precompiled(decode_base64(spec.string("precompiled_charsmap"), what), what);
}

}  // namespace qp::tok
