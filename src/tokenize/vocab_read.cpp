#include "tokenize/vocab_read.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "quantpipe/tokenizer.h"

namespace qp::tok {

namespace {

// "a b" → (a, b): exactly one space, as Hugging Face requires.
bool split_merge(const std::string& line, std::pair<std::string, std::string>& out) {
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string::npos)
    return false;
  out = {line.substr(0, space), line.substr(space + 1)};
  return true;
}

}  // namespace

Vocab read_vocab_object(const JsonFields& spec, const std::string& key, Vocab* read_ahead) {
  const JsonFields entries = spec.object(key);
  if (read_ahead && !read_ahead->empty() && entries.raw().empty()) return std::move(*read_ahead);
  Vocab vocab;
  vocab.reserve(entries.raw().size());
  for (const auto& [token, id] : entries.raw().items())
    vocab.emplace(token, static_cast<int32_t>(entries.integer_value(id, token, 0, kMaxTokenId)));
  return vocab;
}

JsonDivert read_ahead_vocab_divert(const std::string& file, Vocab& vocab) {
  vocab.reserve(32768);
  // Messages as read_vocab_object's: "<file>: key 'model.vocab.<token>' is …".
  static const nlohmann::json kNoMembers = nlohmann::json::object();
  const JsonFields where(kNoMembers, file, "model.vocab");
  return {{"model", "vocab"}, [&vocab, where](const std::string& token, const nlohmann::json& id) {
            return vocab.emplace(token, static_cast<int32_t>(where.integer_value(id, token, 0, kMaxTokenId)))
                .second;
          }};
}

Merges read_merges_json(const JsonFields& spec) {
  const nlohmann::json& list = spec.array("merges");
  Merges merges;
  merges.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& item = list[i];
    std::pair<std::string, std::string> merge;
    if (item.is_string() && split_merge(item.get_ref<const std::string&>(), merge)) {
      merges.push_back(std::move(merge));
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      merges.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
    } else {
      fail(spec.file(), ": key '", spec.key_path("merges"), "[", i, "]' is ", json_excerpt(item),
           ", expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  return merges;
}

Vocab read_vocab_json_file(const std::filesystem::path& path) {
  const nlohmann::json root = read_json_object_file(path);
  const JsonFields fields(root, path.string());
  Vocab vocab;
  vocab.reserve(root.size());
  for (const auto& [token, id] : root.items())
    vocab.emplace(token, static_cast<int32_t>(fields.integer_value(id, token, 0, kMaxTokenId)));
  if (vocab.empty()) fail(path.string(), ": the vocabulary is empty");
  return vocab;
}

Merges read_merges_txt_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open");
  Merges merges;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.starts_with("#version")) continue;
    if (line.empty()) continue;
    std::pair<std::string, std::string> merge;
    if (!split_merge(line, merge))
      fail(path.string(), ": line ", number, " is ", json_excerpt(nlohmann::json(line)),
           ", expected two tokens separated by one space");
    merges.push_back(std::move(merge));
  }
  return merges;
}

}  // namespace qp::tok
