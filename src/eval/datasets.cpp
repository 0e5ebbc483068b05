#include "eval/datasets.h"

#include <charconv>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "io/pretokenized.h"

namespace qp {
namespace {

std::ifstream open_dataset(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open dataset file");
  return in;
}

// Text columns must be strings; labels may also be numbers or booleans
// (GLUE exports write 0/1), read as their JSON text.
std::string json_field_as_string(const nlohmann::json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  fail(where, " is ", json_excerpt(value), " (", json_kind(value), "), expected a string or a number");
}

// Sets the label, and the score when the whole label is a number.
void set_label(LabelledExample& example, std::string label) {
  example.label = std::move(label);
  const char* begin = example.label.data();
  const char* end = begin + example.label.size();
  double value = 0;
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (!example.label.empty() && error == std::errc() && stop == end) {
    example.score = value;
    example.has_score = true;
  }
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
  std::string known;
  for (const std::string& column : header) known += cat(known.empty() ? "" : ", ", column);
  fail(path.string(), ":1: header has no column '", name, "' (columns: ", known, ")");
}

// Column positions of a delimited file's header; npos for unused columns.
struct ColumnIndex {
  size_t text = 0, pair = std::string::npos, label = std::string::npos;

  ColumnIndex(const std::vector<std::string>& header, const ColumnMapping& columns,
              const std::filesystem::path& path)
      : text(column_index(header, columns.text, path)) {
    if (!columns.text_pair.empty()) pair = column_index(header, columns.text_pair, path);
    if (!columns.label.empty()) label = column_index(header, columns.label, path);
  }

  LabelledExample example(std::vector<std::string>& fields) const {
    LabelledExample example;
    example.input.text = std::move(fields[text]);
    if (pair != std::string::npos) example.input.text_pair = std::move(fields[pair]);
    if (label != std::string::npos) set_label(example, std::move(fields[label]));
    return example;
  }
};

// Appends one CSV field starting at `pos` (just after a delimiter or line start)
// and returns the position after it; `line` counts line breaks for messages.
size_t read_csv_field(const std::string& text, size_t pos, std::string& field, int& line,
                      const std::string& source) {
  if (pos >= text.size() || text[pos] != '"') {
    const size_t end = text.find_first_of(",\r\n", pos);
    field.assign(text, pos, (end == std::string::npos ? text.size() : end) - pos);
    if (field.find('"') != std::string::npos)
      fail(source, ":", line, ": a quote inside an unquoted field (quote the whole field and double it)");
    return end == std::string::npos ? text.size() : end;
  }
  const int start_line = line;
  for (++pos;; ++pos) {
    if (pos >= text.size()) fail(source, ":", start_line, ": quoted field is never closed");
    const char c = text[pos];
    if (c == '"') {
      if (pos + 1 < text.size() && text[pos + 1] == '"') {
        field += '"';
        ++pos;
        continue;
      }
      ++pos;
      if (pos < text.size() && text.find_first_of(",\r\n", pos) != pos)
        fail(source, ":", line, ": text after the closing quote of a field");
      return pos;
    }
    if (c == '\n') ++line;
    field += c;
  }
}

void require_rows(const std::vector<LabelledExample>& examples, const std::filesystem::path& path) {
  if (examples.empty()) fail(path.string(), ": dataset has no rows");
}

}  // namespace

std::vector<LabelledExample> read_jsonl_dataset(const std::filesystem::path& path,
                                                const ColumnMapping& columns) {
  std::ifstream in = open_dataset(path);
  std::vector<LabelledExample> examples;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = cat(path.string(), ":", number);
    const nlohmann::json row = parse_json(line, where);
    if (!row.is_object()) fail(where, ": not a JSON object");
    auto field = [&](const std::string& key) {
      const auto it = row.find(key);
      if (it == row.end()) fail(where, ": missing field '", key, "'");
      return json_field_as_string(*it, cat(where, ": field '", key, "'"));
    };
    LabelledExample example;
    if (row.contains("input_ids")) {
      if (row.contains(columns.text))
        fail(where, ": give either the text field '", columns.text, "' or \"input_ids\", not both");
      if (!columns.text_pair.empty())
        fail(where,
             ": a pre-tokenized row (\"input_ids\") holds its pair in the ids; drop the text_pair column");
      example.ids = encoding_from_json(row, where + ": ");
    } else {
      example.input.text = field(columns.text);
      if (!columns.text_pair.empty()) example.input.text_pair = field(columns.text_pair);
    }
    if (!columns.label.empty()) set_label(example, field(columns.label));
    examples.push_back(std::move(example));
  }
  require_rows(examples, path);
  return examples;
}

std::vector<LabelledExample> read_tsv_dataset(const std::filesystem::path& path,
                                              const ColumnMapping& columns) {
  std::ifstream in = open_dataset(path);
  std::string line;
  if (!std::getline(in, line)) fail(path.string(), ": dataset is empty (expected a header row)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string> header = split_tabs(line);
  const ColumnIndex index(header, columns, path);
  std::vector<LabelledExample> examples;
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields = split_tabs(line);
    if (fields.size() != header.size())
      fail(path.string(), ":", number, ": ", fields.size(), " columns, the header has ", header.size());
    examples.push_back(index.example(fields));
  }
  require_rows(examples, path);
  return examples;
}

void for_each_csv_record(const std::string& text, const std::string& source,
                         const std::function<void(std::vector<std::string>&, int)>& visit) {
  int line = 1;
  size_t pos = 0;
  while (pos < text.size()) {
    const int first_line = line;
    std::vector<std::string> record;
    for (;;) {
      std::string field;
      pos = read_csv_field(text, pos, field, line, source);
      record.push_back(std::move(field));
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      break;
    }
    if (pos < text.size() && text[pos] == '\r') ++pos;
    if (pos < text.size() && text[pos] == '\n') ++pos;
    ++line;
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) visit(record, first_line);
  }
}

std::vector<std::vector<std::string>> parse_csv_records(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> records;
  for_each_csv_record(text, source,
                      [&](std::vector<std::string>& record, int) { records.push_back(std::move(record)); });
  return records;
}

std::vector<LabelledExample> read_csv_dataset(const std::filesystem::path& path,
                                              const ColumnMapping& columns) {
  std::ifstream in = open_dataset(path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // Each record becomes an example as soon as it is parsed: a malformed record fails before
  // the rest of the file is split, and only the file text and the examples stay in memory.
  std::vector<std::string> header;
  std::optional<ColumnIndex> index;
  std::vector<LabelledExample> examples;
  for_each_csv_record(text, path.string(), [&](std::vector<std::string>& record, int line) {
    if (!index) {
      header = std::move(record);
      index.emplace(header, columns, path);
      return;
    }
    if (record.size() != header.size())
      fail(path.string(), ":", line, ": ", record.size(), " fields, the header has ", header.size());
    examples.push_back(index->example(record));
  });
  if (!index) fail(path.string(), ": dataset is empty (expected a header row)");
  require_rows(examples, path);
  return examples;
}

std::vector<LabelledExample> sample_evenly(std::vector<LabelledExample> examples, int64_t count) {
  const int64_t n = static_cast<int64_t>(examples.size());
  if (count >= n) return examples;
  std::vector<LabelledExample> picked;
  picked.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    picked.push_back(std::move(examples[static_cast<size_t>(i * n / count)]));
  return picked;
}

}  // namespace qp
