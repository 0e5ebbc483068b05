// GPT-2's byte-level alphabet: every byte has a printable stand-in character
// ('!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves, the other 68 bytes for
// U+0100 on), so byte-level BPE vocabularies hold no raw bytes or spaces.
#pragma once

#include <memory>

#include "tokenize/pre_tokenizer.h"

namespace qp::tok {

char32_t byte_to_char(unsigned char byte);

// ByteLevel pre-tokenizer: add_prefix_space, the GPT-2 split pattern (use_regex),
// then each word's UTF-8 bytes mapped to the alphabet.
std::unique_ptr<PreTokenizer> make_byte_level(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_byte_level(bool add_prefix_space, bool use_regex);

}  // namespace qp::tok
