// SentencePiece's precompiled character map (normalizer "Precompiled", and the
// normalizer_spec of spm.model files): a Darts double-array trie over UTF-8 keys
// whose values index NUL-terminated replacement strings. Applied the way
// Hugging Face tokenizers does: per extended grapheme cluster (shorter than 6
// bytes) first, else per character.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/normalizer.h"

namespace qp::tok {

class PrecompiledCharsmap {
 public:
  // blob: the raw charsmap bytes. Throws qp::Error (prefixed with what) when malformed.
  PrecompiledCharsmap(std::string blob, const std::string& what);

  // The replacement for the shortest key that is a prefix of chunk, if any.
  bool transform(std::string_view chunk, std::string_view& replacement) const;
  void normalize(std::u32string& text) const;

 private:
  std::vector<uint32_t> units_;
  std::string strings_;
};

std::unique_ptr<Normalizer> make_precompiled(const JsonFields& spec);
std::unique_ptr<Normalizer> make_precompiled(std::string blob, const std::string& what);

// Standard base64 (with padding) to bytes; throws qp::Error naming what.
std::string decode_base64(std::string_view text, const std::string& what);

}  // namespace qp::tok
