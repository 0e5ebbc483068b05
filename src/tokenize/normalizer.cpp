#include "tokenize/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/json_fields.h"
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

class StripAccents final : public Normalizer {
 public:
  void normalize(std::u32string& text, std::u32string& scratch) const override {
    strip_accents(text, scratch);
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

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}

  void normalize(std::u32string& text, std::u32string& scratch) const override {
    for (const auto& step : steps_) step->normalize(text, scratch);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& options) {
  return std::make_unique<BertNormalizer>(options);
}

std::unique_ptr<Normalizer> make_normalizer(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  if (type == "BertNormalizer") {
    BertNormalizerOptions o;
    o.clean_text = spec.boolean_or("clean_text", true);
    o.handle_chinese_chars = spec.boolean_or("handle_chinese_chars", true);
    o.lowercase = spec.boolean_or("lowercase", true);
    o.strip_accents = spec.boolean_or("strip_accents", o.lowercase);
    return make_bert_normalizer(o);
  }
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "NFD")
    return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE));
  if (type == "NFC")
    return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (type == "NFKD")
    return std::make_unique<UnicodeForm>(
        utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
  if (type == "NFKC")
    return std::make_unique<UnicodeForm>(
        utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    const nlohmann::json& list = spec.array("normalizers");
    for (size_t i = 0; i < list.size(); ++i)
      steps.push_back(
          make_normalizer(JsonFields(list[i], spec.file(), cat(spec.key_path("normalizers"), "[", i, "]"))));
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  spec.error("type", "is ", json_excerpt(type),
             ", an unsupported normalizer (supported: BertNormalizer, Lowercase, StripAccents, NFD, NFC, "
             "NFKD, NFKC, Sequence)");
}

}  // namespace qp::tok
