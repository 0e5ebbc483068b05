// WordLevel model: each word is one vocabulary entry, else the unknown token.
#include "core/error.h"
#include "tokenize/model.h"
#include "tokenize/vocab_read.h"

namespace qp::tok {

namespace {

class WordLevel final : public Model {
 public:
  WordLevel(Vocab vocab, const std::string& unk_token, const std::string& source) : vocab_(std::move(vocab)) {
    tokens_ = invert_vocab(vocab_, source);
    unk_id_ = token_to_id(unk_token);
    if (unk_id_ < 0) fail(source, ": WordLevel unk_token '", unk_token, "' is not in the vocabulary");
  }

  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& s) const override {
    encode_word_utf8(word, s);
    const int32_t id = token_to_id(s.utf8);
    ids.push_back(id >= 0 ? id : unk_id_);
  }
  int32_t token_to_id(std::string_view token) const override {
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && static_cast<size_t>(id) < tokens_.size() ? tokens_[id] : nullptr;
  }
  size_t size() const override { return vocab_.size(); }
  int32_t max_id() const override { return static_cast<int32_t>(tokens_.size()) - 1; }

 private:
  Vocab vocab_;
  std::vector<const std::string*> tokens_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_word_level(const JsonFields& spec, Vocab* read_ahead) {
  return std::make_unique<WordLevel>(read_vocab_object(spec, "vocab", read_ahead),
                                     spec.string_or("unk_token", "<unk>"),
                                     cat(spec.file(), ": key '", spec.key_path("unk_token"), "'"));
}

}  // namespace qp::tok
