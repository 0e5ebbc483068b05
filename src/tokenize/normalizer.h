// Normalizers of tokenizer.json (BertNormalizer, Lowercase, StripAccents, NFD/NFC/NFKD/NFKC,
// Strip, Replace, Prepend, Precompiled, Nmt, ByteLevel, Sequence). They work on code points.
#pragma once

#include <memory>
#include <string>

#include "core/json_fields.h"

namespace qp::tok {

using qp::JsonFields;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites text in place (scratch is a reusable buffer).
  virtual void normalize(std::u32string& text, std::u32string& scratch) const = 0;
};

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // HF: null follows lowercase
  bool lowercase = true;
};

std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& options);

// Builds a normalizer from its tokenizer.json object; null JSON gives nullptr.
// Throws qp::Error naming an unsupported type.
std::unique_ptr<Normalizer> make_normalizer(const JsonFields& spec);

}  // namespace qp::tok
