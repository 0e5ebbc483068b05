// Post-processors of tokenizer.json (TemplateProcessing, BertProcessing,
// RobertaProcessing), all held as one template: special tokens and the two
// sequences, each with its type id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "quantpipe/tokenizer.h"

namespace qp::tok {

using qp::JsonFields;

struct TemplatePiece {
  int sequence = -1;         // 0 = A, 1 = B, -1 = special tokens
  std::vector<int32_t> ids;  // the special token's ids when sequence < 0
  int32_t type_id = 0;
};

class PostProcessor {
 public:
  // No special tokens; A gets type 0, B type 1 (what HF does without a post-processor).
  PostProcessor();
  PostProcessor(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair);

  // [cls] A [sep] / [cls] A [sep] B [sep] with types 0 / 1.
  static PostProcessor bert(int32_t cls_id, int32_t sep_id);
  // <s> A </s> / <s> A </s> </s> B </s>, all type 0.
  static PostProcessor roberta(int32_t cls_id, int32_t sep_id);

  // How many special tokens the template adds.
  size_t added_tokens(bool is_pair) const;
  Encoding apply(const std::vector<int32_t>& a, const std::vector<int32_t>* b) const;
  int32_t max_id() const;          // of the special tokens it adds; -1 when none
  bool adds_id(int32_t id) const;  // whether the template adds this special token

 private:
  std::vector<TemplatePiece> single_;
  std::vector<TemplatePiece> pair_;
};

// Builds the post-processor from its tokenizer.json object (null: none).
// Throws qp::Error naming an unsupported type or a malformed template.
PostProcessor make_post_processor(const JsonFields& spec);

}  // namespace qp::tok
