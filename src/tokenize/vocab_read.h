// Reading vocabularies and BPE merges from tokenizer.json objects and from the
// vocab.json / merges.txt files older BPE models ship.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/model.h"

namespace qp::tok {

using Merges = std::vector<std::pair<std::string, std::string>>;

// {"token": id, ...} under spec[key]; ids from 0 to kMaxTokenId.
Vocab read_vocab_object(const JsonFields& spec, const std::string& key);
// spec["merges"]: "a b" strings or ["a", "b"] pairs (both spellings of tokenizer.json).
Merges read_merges_json(const JsonFields& spec);
// vocab.json (a JSON object) and merges.txt ("#version" line, then "a b" a line).
Vocab read_vocab_json_file(const std::filesystem::path& path);
Merges read_merges_txt_file(const std::filesystem::path& path);

}  // namespace qp::tok
