// Pre-tokenizers of tokenizer.json: BertPreTokenizer, WhitespaceSplit and Sequence.
// They cut normalized code points into words, given as [begin, end) spans.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json_fields.h"

namespace qp::tok {

using qp::JsonFields;

using Span = std::pair<size_t, size_t>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces words with the sub-spans of each input span.
  virtual void split(const std::u32string& text, std::vector<Span>& words,
                     std::vector<Span>& scratch) const = 0;
};

// Whitespace removed, every punctuation character its own word.
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

// Builds a pre-tokenizer from its tokenizer.json object; null JSON gives nullptr.
// Throws qp::Error naming an unsupported type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonFields& spec);

}  // namespace qp::tok
