// Unigram language model (SentencePiece) as Hugging Face tokenizers does it:
// Viterbi over the pieces of the vocabulary, maximizing the sum of log
// probabilities; a character no piece covers costs min_score - 10 and becomes
// the unknown token, consecutive unknowns fused into one; with byte_fallback an
// unknown run becomes its <0xXX> byte tokens instead.
#pragma once

#include <optional>
#include <utility>

#include "tokenize/model.h"

namespace qp::tok {

using ScoredPieces = std::vector<std::pair<std::string, double>>;

class Unigram final : public Model {
 public:
  // Ids are positions in pieces. Throws qp::Error (prefixed with source) when
  // unk_id is out of range.
  Unigram(ScoredPieces pieces, std::optional<int32_t> unk_id, bool byte_fallback, const std::string& source);

  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& scratch) const override;
  int32_t token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  size_t size() const override { return pieces_.size(); }
  int32_t max_id() const override { return static_cast<int32_t>(pieces_.size()) - 1; }

 private:
  void emit_unknown(std::string_view text, std::vector<int32_t>& ids) const;

  ScoredPieces pieces_;
  Vocab vocab_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double unk_score_ = 0;
  size_t max_piece_chars_ = 1;
  int32_t byte_ids_[256];
};

std::unique_ptr<Model> make_unigram(const JsonFields& spec, Vocab* read_ahead);

}  // namespace qp::tok
