// Reading vocabularies and BPE merges from tokenizer.json objects and from the
// vocab.json / merges.txt files older BPE models ship.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/json_read.h"
#include "tokenize/model.h"

namespace qp::tok {

using Merges = std::vector<std::pair<std::string, std::string>>;

// {"token": id, ...} under spec[key]; ids from 0 to kMaxTokenId. A non-empty
// `read_ahead` is that vocabulary taken while the file was parsed (the
// object in the document is then empty, see read_ahead_vocab_divert) and is
// moved out instead.
Vocab read_vocab_object(const JsonFields& spec, const std::string& key, Vocab* read_ahead = nullptr);
// Takes tokenizer.json's model.vocab object into `vocab` during the parse
// (checked as read_vocab_object checks it; errors name `file`), so the
// document never holds its 30,000+ entries.
JsonDivert read_ahead_vocab_divert(const std::string& file, Vocab& vocab);
// spec["merges"]: "a b" strings or ["a", "b"] pairs (both spellings of tokenizer.json).
Merges read_merges_json(const JsonFields& spec);
// vocab.json (a JSON object) and merges.txt ("#version" line, then "a b" a line).
Vocab read_vocab_json_file(const std::filesystem::path& path);
Merges read_merges_txt_file(const std::filesystem::path& path);

}  // namespace qp::tok
