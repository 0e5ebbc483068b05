// Byte-pair encoding as Hugging Face tokenizers does it: a word starts as its
// characters (continuing_subword_prefix on all but the first, end_of_word_suffix
// on the last), then the adjacent pair with the lowest merge rank is merged,
// leftmost first, until no pair has a merge. Characters outside the vocabulary
// become <0xXX> byte tokens (byte_fallback), the unknown token (fused when
// fuse_unk), or nothing when there is no unknown token. Results are cached per word.
#pragma once

#include <optional>
#include <shared_mutex>

#include "tokenize/model.h"
#include "tokenize/vocab_read.h"

namespace qp::tok {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class Bpe final : public Model {
 public:
  // `source` names where merges come from in errors ("<file>: key 'model.merges'").
  // Throws qp::Error when a merge names a token (or makes one) outside the vocabulary,
  // or when unk_token is not in it.
  Bpe(Vocab vocab, const Merges& merges, BpeOptions options, const std::string& source);

  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, ModelScratch& scratch) const override;
  int32_t token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  size_t size() const override { return vocab_.size(); }
  int32_t max_id() const override { return static_cast<int32_t>(tokens_.size()) - 1; }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void initial_symbols(ModelScratch& s) const;
  void merge_all(std::vector<int32_t>& symbols) const;

  Vocab vocab_;
  std::vector<const std::string*> tokens_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
  int32_t unk_id_ = -1;
  int32_t byte_ids_[256];  // <0xXX> tokens, -1 when absent

  // Word → ids, shared by all threads; bounded like Hugging Face's (10000 words).
  static constexpr size_t kCacheCapacity = 10000;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

std::unique_ptr<Model> make_bpe(const JsonFields& spec, Vocab* read_ahead);

}  // namespace qp::tok
