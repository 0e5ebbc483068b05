#include "eval/datasets.h"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qp {
namespace {

std::ifstream open_dataset(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open dataset file");
  return in;
}

std::string json_field_as_string(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    fields.push_back(line.substr(start, tab - start));
  fields.push_back(line.substr(start));
  return fields;
}

size_t column_index(const std::vector<std::string>& header, const std::string& name,
                    const std::filesystem::path& path) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  fail(path.string(), ":1: header has no column '", name, "'");
}

}  // namespace

std::vector<LabelledExample> read_jsonl_dataset(const std::filesystem::path& path, const ColumnMapping& columns) {
  std::ifstream in = open_dataset(path);
  std::vector<LabelledExample> examples;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_object()) fail(path.string(), ":", number, ": not a JSON object");
    auto field = [&](const std::string& key) -> const nlohmann::json& {
      const auto it = row.find(key);
      if (it == row.end()) fail(path.string(), ":", number, ": missing field '", key, "'");
      return *it;
    };
    LabelledExample example;
    example.input.text = json_field_as_string(field(columns.text));
    if (!columns.text_pair.empty()) example.input.text_pair = json_field_as_string(field(columns.text_pair));
    example.label = json_field_as_string(field(columns.label));
    examples.push_back(std::move(example));
  }
  if (examples.empty()) fail(path.string(), ": dataset has no rows");
  return examples;
}

std::vector<LabelledExample> read_tsv_dataset(const std::filesystem::path& path, const ColumnMapping& columns) {
  std::ifstream in = open_dataset(path);
  std::string line;
  if (!std::getline(in, line)) fail(path.string(), ": dataset is empty (expected a header row)");
  const std::vector<std::string> header = split_tabs(line);
  const size_t text = column_index(header, columns.text, path);
  const size_t label = column_index(header, columns.label, path);
  const size_t pair = columns.text_pair.empty() ? header.size() : column_index(header, columns.text_pair, path);
  std::vector<LabelledExample> examples;
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> fields = split_tabs(line);
    if (fields.size() != header.size())
      fail(path.string(), ":", number, ": ", fields.size(), " columns, the header has ", header.size());
    LabelledExample example;
    example.input.text = fields[text];
    if (pair < header.size()) example.input.text_pair = fields[pair];
    example.label = fields[label];
    const std::string& value = fields[label];
    std::from_chars(value.data(), value.data() + value.size(), example.score);
    examples.push_back(std::move(example));
  }
  if (examples.empty()) fail(path.string(), ": dataset has no rows");
  return examples;
}

}  // namespace qp
