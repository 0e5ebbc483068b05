// UTF-8 decoding/encoding and the character classes the Hugging Face tokenizers
// pipeline uses (Rust's char::is_whitespace, Unicode categories via utf8proc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qp::tok {

// Decodes UTF-8 into code points; throws qp::Error "input is not valid UTF-8 at byte N"
// (N 0-based) on malformed, overlong, surrogate or out-of-range sequences.
void decode_utf8(std::string_view text, std::u32string& out);
std::u32string decode_utf8(std::string_view text);

void append_utf8(char32_t cp, std::string& out);
std::string encode_utf8(std::u32string_view text);

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_whitespace(char32_t cp);
// Unicode general category C* except \t \n \r (what BertNormalizer removes).
bool is_control(char32_t cp);
// ASCII punctuation or a Unicode P* category (BertPreTokenizer's split set).
bool is_bert_punctuation(char32_t cp);
// The CJK ideograph blocks BertNormalizer surrounds with spaces.
bool is_chinese_char(char32_t cp);
// Unicode category Mn.
bool is_nonspacing_mark(char32_t cp);
// Letters, digits and '_' (added tokens' single_word boundaries).
bool is_word_char(char32_t cp);

}  // namespace qp::tok
