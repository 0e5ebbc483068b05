// One pre-tokenized input as JSON: {"input_ids": [...], "token_type_ids"?: [...],
// "attention_mask"?: [...]}, what `quantpipe tokenize` prints. Read by the
// CLI's input lines and by JSONL datasets, so a model without tokenizer files
// can be run and evaluated; both report a bad field the same way.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "quantpipe/types.h"

namespace qp {

// Missing token_type_ids are zeros, a missing attention_mask attends to every
// id. Throws "<where>..." naming the field: not an array, a value that is not
// a non-negative 32-bit integer, a length unlike input_ids', no ids at all.
Encoding encoding_from_json(const nlohmann::json& object, const std::string& where);

}  // namespace qp
