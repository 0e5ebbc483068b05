#include "tokenize/model.h"

#include <algorithm>

#include "core/error.h"
#include "tokenize/unicode.h"

namespace qp::tok {

void encode_word_utf8(std::u32string_view word, ModelScratch& s) {
  s.utf8.clear();
  s.offsets.clear();
  for (char32_t cp : word) {
    s.offsets.push_back(s.utf8.size());
    append_utf8(cp, s.utf8);
  }
  s.offsets.push_back(s.utf8.size());
}

int32_t max_vocab_id(const Vocab& vocab) {
  int32_t max = -1;
  for (const auto& [token, id] : vocab) max = std::max(max, id);
  return max;
}

std::vector<const std::string*> invert_vocab(const Vocab& vocab, const std::string& source) {
  // The table has a slot per id up to the largest: gaps are allowed, but not
  // ones that would make a 60-byte file ask for gigabytes.
  const int32_t max_id = max_vocab_id(vocab);
  if (max_id >= 0 && static_cast<size_t>(max_id) > kMaxVocabIdGapFactor * vocab.size() + kMaxVocabIdSlack)
    fail(source, source.empty() ? "" : ": ", "the vocabulary's largest id is ", max_id, " but it has only ",
         vocab.size(), " entries; ids must be (nearly) dense");
  std::vector<const std::string*> tokens(static_cast<size_t>(max_id + 1), nullptr);
  for (const auto& [token, id] : vocab)
    if (!tokens[id]) tokens[id] = &token;
  return tokens;
}

}  // namespace qp::tok
