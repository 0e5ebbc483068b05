// Pre-tokenizers of tokenizer.json cut normalized text into words; some also
// rewrite it (ByteLevel maps bytes to printable characters, Metaspace turns
// spaces into "▁"). Words are [begin, end) spans into Words::text; a rewriting
// pre-tokenizer builds a new text and new spans.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json_fields.h"
#include "tokenize/regex.h"

namespace qp::tok {

using qp::JsonFields;

struct Words {
  std::u32string text;
  std::vector<Span> spans;
  // text begins at the start of the input sequence (Metaspace's prepend_scheme "first").
  bool starts_input = true;
  // Reusable buffers.
  std::u32string rewritten;
  std::vector<Span> next;
  std::vector<Span> matches;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces words.spans with the words found in each (empty spans may come in).
  virtual void split(Words& words) const = 0;
};

// Whitespace removed, every punctuation character its own word.
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

// Builds a pre-tokenizer from its tokenizer.json object through a table of
// types. Throws qp::Error naming the file and an unsupported type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonFields& spec);

}  // namespace qp::tok
