#include "tokenize/normalizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/json_fields.h"
#include "tokenize/byte_level.h"
#include "tokenize/precompiled_charsmap.h"
#include "tokenize/regex.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

// Canonical decomposition (NFD) of text into out, with canonical reordering.
void decompose_nfd(const std::u32string& text, std::u32string& out) {
  out.clear();
  utf8proc_int32_t buf[32];
  for (char32_t cp : text) {
    int boundclass = 0;
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 32,
                                utf8proc_option_t(UTF8PROC_DECOMPOSE | UTF8PROC_STABLE), &boundclass);
    if (n < 0 || n > 32) {
      out.push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) out.push_back(static_cast<char32_t>(buf[k]));
  }
  // Stable sort of each run of non-starters by combining class (insertion sort: runs are short).
  auto ccc = [](char32_t cp) {
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
  };
  for (size_t i = 1; i < out.size(); ++i) {
    const auto c = ccc(out[i]);
    if (c == 0) continue;
    size_t j = i;
    while (j > 0 && ccc(out[j - 1]) > c) {
      std::swap(out[j - 1], out[j]);
      --j;
    }
  }
}

void strip_accents(std::u32string& text, std::u32string& scratch) {
  decompose_nfd(text, scratch);
  text.clear();
  for (char32_t cp : scratch)
    if (!is_nonspacing_mark(cp)) text.push_back(cp);
}

// Rust's char::to_lowercase: the simple mapping except U+0130, which lowercases to "i\u0307".
void lowercase(std::u32string& text, std::u32string& scratch) {
  scratch.clear();
  for (char32_t cp : text) {
    if (cp == 0x130) {
      scratch.push_back(U'i');
      scratch.push_back(0x307);
    } else if (cp < 0x80) {
      scratch.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else {
      scratch.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
  text.swap(scratch);
}

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(const BertNormalizerOptions& options) : o_(options) {}

  void normalize(std::u32string& text, std::u32string& scratch) const override {
    if (o_.clean_text) {
      size_t w = 0;
      for (char32_t cp : text) {
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
        text[w++] = is_whitespace(cp) ? U' ' : cp;
      }
      text.resize(w);
    }
    if (o_.handle_chinese_chars) {
      scratch.clear();
      for (char32_t cp : text) {
        if (is_chinese_char(cp)) {
          scratch.push_back(U' ');
          scratch.push_back(cp);
          scratch.push_back(U' ');
        } else {
          scratch.push_back(cp);
        }
      }
      text.swap(scratch);
    }
    if (o_.strip_accents) strip_accents(text, scratch);
    if (o_.lowercase) lowercase(text, scratch);
  }

 private:
  BertNormalizerOptions o_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(std::u32string& text, std::u32string& scratch) const override { lowercase(text, scratch); }
};

// Hugging Face's StripAccents removes every mark (Mn, Mc, Me; BertNormalizer only Mn)
// and decomposes nothing: files put NFD before it.
class StripAccents final : public Normalizer {
 public:
  void normalize(std::u32string& text, std::u32string&) const override {
    std::erase_if(text, [](char32_t cp) {
      const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
      return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
    });
  }
};

// NFC / NFKC / NFKD through utf8proc_map on UTF-8 (NFD has its own code-point path).
class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(utf8proc_option_t options) : options_(options) {}

  void normalize(std::u32string& text, std::u32string& scratch) const override {
    if (options_ == (UTF8PROC_STABLE | UTF8PROC_DECOMPOSE)) {
      decompose_nfd(text, scratch);
      text.swap(scratch);
      return;
    }
    const std::string utf8 = encode_utf8(text);
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                            static_cast<utf8proc_ssize_t>(utf8.size()), &mapped, options_);
    if (n < 0) fail("[tokenizer] unicode normalization failed: ", utf8proc_errmsg(n));
    decode_utf8(std::string_view(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n)), text);
    std::free(mapped);
  }

 private:
  utf8proc_option_t options_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::u32string& text, std::u32string&) const override {
    size_t end = text.size();
    if (right_)
      while (end > 0 && is_whitespace(text[end - 1])) --end;
    size_t begin = 0;
    if (left_)
      while (begin < end && is_whitespace(text[begin])) ++begin;
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// Every match of a pattern (plain string or regex) replaced by content.
class Replace final : public Normalizer {
 public:
  Replace(std::unique_ptr<Regex> pattern, std::u32string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::u32string& text, std::u32string& scratch) const override {
    std::vector<Span> matches;
    pattern_->find_all(text, {0, text.size()}, matches);
    if (matches.empty()) return;
    scratch.clear();
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
      scratch.append(text, prev, b - prev);
      scratch.append(content_);
      prev = e;
    }
    scratch.append(text, prev, text.size() - prev);
    text.swap(scratch);
  }

 private:
  std::unique_ptr<Regex> pattern_;
  std::u32string content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::u32string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::u32string& text, std::u32string&) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::u32string prefix_;
};

// SentencePiece's "nmt" rule set: drop some control characters, map others to a space.
class Nmt final : public Normalizer {
 public:
  void normalize(std::u32string& text, std::u32string&) const override {
    std::erase_if(text, [](char32_t c) {
      return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
             c == 0x9F;
    });
    for (char32_t& c : text)
      if (c == 0x9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
          c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD)
        c = U' ';
  }
};

// The ByteLevel normalizer: every character replaced by the byte-level stand-ins of its
// UTF-8 bytes (as the ByteLevel pre-tokenizer does, without splitting).
class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(std::u32string& text, std::u32string& scratch) const override {
    scratch.clear();
    std::string utf8;
    for (char32_t cp : text) {
      utf8.clear();
      append_utf8(cp, utf8);
      for (unsigned char byte : utf8) scratch.push_back(byte_to_char(byte));
    }
    text.swap(scratch);
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}

  void normalize(std::u32string& text, std::u32string& scratch) const override {
    for (const auto& step : steps_) step->normalize(text, scratch);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

std::unique_ptr<Normalizer> bert_from_json(const JsonFields& spec) {
  BertNormalizerOptions o;
  o.clean_text = spec.boolean_or("clean_text", true);
  o.handle_chinese_chars = spec.boolean_or("handle_chinese_chars", true);
  o.lowercase = spec.boolean_or("lowercase", true);
  o.strip_accents = spec.boolean_or("strip_accents", o.lowercase);
  return make_bert_normalizer(o);
}

template <utf8proc_option_t options>
std::unique_ptr<Normalizer> unicode_form(const JsonFields&) {
  return std::make_unique<UnicodeForm>(options);
}

std::unique_ptr<Normalizer> replace_from_json(const JsonFields& spec) {
  std::unique_ptr<Regex> regex = regex_from_pattern(spec);
  return std::make_unique<Replace>(std::move(regex), decode_utf8(spec.string_or("content", "")));
}

std::unique_ptr<Normalizer> sequence_from_json(const JsonFields& spec) {
  std::vector<std::unique_ptr<Normalizer>> steps;
  const nlohmann::json& list = spec.array("normalizers");
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(
        make_normalizer(JsonFields(list[i], spec.file(), cat(spec.key_path("normalizers"), "[", i, "]"))));
  return std::make_unique<SequenceNormalizer>(std::move(steps));
}

struct NormalizerKind {
  const char* type;
  std::unique_ptr<Normalizer> (*make)(const JsonFields&);
};
constexpr NormalizerKind kNormalizers[] = {
    {"BertNormalizer", bert_from_json},
    {"Lowercase",
     [](const JsonFields&) -> std::unique_ptr<Normalizer> { return std::make_unique<Lowercase>(); }},
    {"StripAccents",
     [](const JsonFields&) -> std::unique_ptr<Normalizer> { return std::make_unique<StripAccents>(); }},
    {"NFD", unicode_form<utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE)>},
    {"NFC", unicode_form<utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE)>},
    {"NFKD", unicode_form<utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT)>},
    {"NFKC", unicode_form<utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT)>},
    {"Strip",
     [](const JsonFields& s) -> std::unique_ptr<Normalizer> {
       return std::make_unique<Strip>(s.boolean_or("strip_left", true), s.boolean_or("strip_right", true));
     }},
    {"Replace", replace_from_json},
    {"Prepend",
     [](const JsonFields& s) -> std::unique_ptr<Normalizer> {
       return std::make_unique<Prepend>(decode_utf8(s.string("prepend")));
     }},
    {"Precompiled", [](const JsonFields& s) { return make_precompiled(s); }},
    {"Nmt", [](const JsonFields&) -> std::unique_ptr<Normalizer> { return std::make_unique<Nmt>(); }},
    {"ByteLevel",
     [](const JsonFields&) -> std::unique_ptr<Normalizer> {
       return std::make_unique<ByteLevelNormalizer>();
     }},
    {"Sequence", sequence_from_json},
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& options) {
  return std::make_unique<BertNormalizer>(options);
}

std::unique_ptr<Normalizer> make_normalizer(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  const auto* kind = std::find_if(std::begin(kNormalizers), std::end(kNormalizers),
                                  [&](const NormalizerKind& k) { return type == k.type; });
  if (kind == std::end(kNormalizers)) {
    std::string names;
    for (const auto& k : kNormalizers) names += std::string(names.empty() ? "" : ", ") + k.type;
    spec.error("type", "is ", json_excerpt(type), ", an unsupported normalizer (supported: ", names, ")");
  }
  return kind->make(spec);
}

}  // namespace qp::tok
