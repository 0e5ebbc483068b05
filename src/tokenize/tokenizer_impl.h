// The parts a Tokenizer is built from; the loaders (tokenizer_json.cpp,
// vocab_txt.cpp) fill them, tokenizer.cpp runs them.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "tokenize/added_tokens.h"
#include "tokenize/model.h"
#include "tokenize/normalizer.h"
#include "tokenize/post_processor.h"
#include "tokenize/pre_tokenizer.h"

namespace qp::tok {

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };

struct Truncation {
  int max_length = 0;
  TruncationStrategy strategy = TruncationStrategy::LongestFirst;
  bool from_left = false;  // direction "Left"
};

struct TokenizerParts {
  std::unique_ptr<Normalizer> normalizer;       // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null: the whole text is one word
  std::unique_ptr<Model> model;
  AddedTokens added_tokens;
  PostProcessor post_processor;
  std::optional<Truncation> truncation;
  int32_t pad_id = 0;
};

TokenizerParts load_tokenizer_json(const std::filesystem::path& path);
TokenizerParts load_vocab_txt(const std::filesystem::path& dir);
// vocab.json + merges.txt (GPT-2 / RoBERTa / BART byte-level BPE).
TokenizerParts load_vocab_json_merges(const std::filesystem::path& dir);
// spm.model (SentencePiece Unigram, read with libsentencepiece): DeBERTa-v2/v3.
TokenizerParts load_spm_model(const std::filesystem::path& dir);
// sentencepiece.bpe.model (SentencePiece with fairseq ids): XLM-RoBERTa.
TokenizerParts load_xlmr_spm(const std::filesystem::path& dir);

// The id of token among the added tokens, else in the model's vocabulary; -1 when neither.
int32_t find_token_id(const TokenizerParts& parts, std::string_view token);

// Truncates a (and b) so that together they hold at most max_length ids.
void truncate_pair(std::vector<int32_t>& a, std::vector<int32_t>* b, const Truncation& t, int max_length);

}  // namespace qp::tok
