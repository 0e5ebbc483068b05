// WordPiece model: greedy longest-match-first over a vocabulary, continuation
// pieces carry a prefix ("##"); a word with an unknown piece or more than
// max_input_chars_per_word characters becomes the unknown token.
#pragma once

#include "tokenize/model.h"

namespace qp::tok {

class WordPiece final : public Model {
 public:
  // Throws qp::Error when unk_token is not in the vocabulary.
  WordPiece(Vocab vocab, std::string unk_token, std::string prefix, size_t max_input_chars_per_word);

  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& scratch) const override;
  int32_t token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  size_t size() const override { return vocab_.size(); }
  int32_t max_id() const override { return static_cast<int32_t>(tokens_.size()) - 1; }

 private:
  Vocab vocab_;
  std::vector<const std::string*> tokens_;
  std::string prefix_;
  size_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

std::unique_ptr<Model> make_wordpiece(const JsonFields& spec, Vocab* read_ahead);

}  // namespace qp::tok
