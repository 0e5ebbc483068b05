// A model directory's tokenizer as llama.cpp's GGUF tokenizer keys
// (tokenizer.ggml.*): model kind, tokens, token types, scores, merges, special
// ids and the add-bos / add-eos flags, with the conventions llama.cpp's own
// converter uses (convert_hf_to_gguf.py, set_vocab) so its tokenizers read them:
// - WordPiece → "bert": "##x" becomes "x", every other non-control token gets a
//   leading U+2581 (llama.cpp's WPM matches "▁word" first, then bare pieces);
// - byte-level BPE (RoBERTa) → "gpt2" with merges, pre-tokenizer "roberta-bpe";
// - Unigram (XLM-R's tokenizer.json) → "t5" with scores and the precompiled
//   normalizer map, ids as in tokenizer.json.
// The whole tokenizer.json also goes in as tokenizer.huggingface.json, so
// quantpipe reading the file back tokenizes exactly as the source did.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/gguf.h"

namespace qp {

// llama.cpp's token types (gguf TokenType).
enum class GgufTokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

struct GgufVocab {
  std::string model;  // "bert", "gpt2", "t5"
  std::string pre;    // tokenizer.ggml.pre ("" = not written)
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;        // Unigram only
  std::vector<std::string> merges;  // BPE only
  std::vector<uint8_t> charsmap;    // Unigram's precompiled normalizer, when there is one
  int64_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  std::string huggingface_json;  // tokenizer.json as read ("" without one)
};

// A WordPiece token as llama.cpp's WPM keeps it, and back: "##x" ↔ "x",
// "word" ↔ "▁word" (U+2581); control and unused tokens stay as they are.
std::string wordpiece_to_gguf(const std::string& token, GgufTokenType type);
std::string wordpiece_from_gguf(const std::string& token, GgufTokenType type);

// Reads <dir>/tokenizer.json (else vocab.txt) and pads the vocabulary to
// `rows` (the word embedding rows) with unused "[PAD<i>]" tokens, as llama.cpp
// needs one token per row. Throws naming the file when there is no tokenizer,
// it is a kind llama.cpp has no reader for, or it has more tokens than rows.
GgufVocab read_gguf_vocab(const std::filesystem::path& dir, int64_t rows);

// Sets the tokenizer.ggml.* keys (and tokenizer.huggingface.json).
void write_gguf_vocab(GgufWriter& writer, const GgufVocab& vocab);

}  // namespace qp
