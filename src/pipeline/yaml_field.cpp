// Located reads from yaml-cpp nodes.
#include "pipeline/yaml_field.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "core/error.h"

namespace qp::pipeline {
namespace {

// What a node holds, for "expected X, got Y" messages.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

// Parses all of text as a number of type T (from_chars refuses leading '+'
// and spaces, which YAML scalars never carry for numbers anyway).
template <typename T>
bool parse_whole(const std::string& text, T& value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

}  // namespace

int YamlField::line() const {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback_line : mark.line + 1;
}

void YamlField::fail(std::string_view why) const {
  std::string where = file;
  if (line() > 0) where += cat(":", line());
  if (key.empty()) qp::fail(where, ": ", why);
  qp::fail(where, ": ", key, ": ", why);
}

std::string YamlField::as_string() const {
  if (!node.IsScalar()) fail("expected a string, got " + describe(node));
  return node.Scalar();
}

int64_t YamlField::as_int() const {
  int64_t value = 0;
  if (!node.IsScalar() || !parse_whole(node.Scalar(), value))
    fail("expected a whole number, got " + describe(node));
  return value;
}

double YamlField::as_number() const {
  double value = 0;
  if (!node.IsScalar() || !parse_whole(node.Scalar(), value))
    fail("expected a number, got " + describe(node));
  return value;
}

bool YamlField::as_bool() const {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
    fail("expected true or false, got " + describe(node));
  return value;
}

std::vector<std::string> YamlField::as_string_list() const {
  if (node.IsScalar()) return {node.Scalar()};
  std::vector<std::string> values;
  for (const YamlField& item : items()) values.push_back(item.as_string());
  return values;
}

std::vector<YamlField> YamlField::items() const {
  if (!node.IsSequence()) fail("expected a list, got " + describe(node));
  std::vector<YamlField> fields;
  for (size_t i = 0; i < node.size(); ++i) fields.push_back({file, cat(key, "[", i, "]"), node[i], line()});
  return fields;
}

YamlMap::YamlMap(YamlField field) : self_(std::move(field)) {
  if (!self_.node.IsMap()) self_.fail("expected a map, got " + describe(self_.node));
  std::unordered_set<std::string> seen;  // a set: scanning the entries per key is quadratic
  for (const auto& pair : self_.node) {
    // yaml-cpp keeps both entries of a repeated key, and lookups see only the
    // first: the second value would be silently ignored.
    if (!seen.insert(pair.first.Scalar()).second) {
      const YamlField at{self_.file, self_.key, pair.first, self_.line()};
      const YamlField first_at{self_.file, self_.key, find(pair.first.Scalar())->key, self_.line()};
      at.fail(cat("key '", pair.first.Scalar(), "' appears twice in this map (first at line ",
                  first_at.line(), ")"));
    }
    entries_.push_back({pair.first.Scalar(), pair.first, pair.second});
  }
}

YamlMap::YamlMap(YamlField field, std::vector<std::string_view> known) : YamlMap(std::move(field)) {
  reject_unknown(known);
}

void YamlMap::reject_unknown(const std::vector<std::string_view>& known) const {
  // The first few by name: a map of thousands of stray keys stays a one-line message.
  constexpr size_t kNamed = 8;
  const Entry* first = nullptr;
  std::string names;
  size_t unknown = 0;
  for (const Entry& entry : entries_) {
    if (std::find(known.begin(), known.end(), entry.name) != known.end()) continue;
    if (!first) first = &entry;
    if (unknown++ < kNamed) names += (names.empty() ? "'" : ", '") + entry.name + "'";
  }
  if (!first) return;
  if (unknown > kNamed) names += cat(" and ", unknown - kNamed, " more");
  std::string list;
  for (std::string_view name : known) list += cat(list.empty() ? "" : ", ", name);
  const YamlField at{self_.file, self_.key, first->key, self_.line()};
  at.fail(cat("unknown key", unknown == 1 ? " " : "s ", names, " (known: ", list, ")"));
}

const YamlMap::Entry* YamlMap::find(std::string_view name) const {
  for (const Entry& entry : entries_)
    if (entry.name == name) return &entry;
  return nullptr;
}

YamlField YamlMap::value_field(const Entry& entry) const {
  const std::string key = self_.key.empty() ? entry.name : cat(self_.key, ".", entry.name);
  // The key's line stands in when the value has none (an empty "hf_name:").
  const int key_line = YamlField{self_.file, "", entry.key, self_.line()}.line();
  return {self_.file, key, entry.value, key_line};
}

bool YamlMap::has(std::string_view name) const { return find(name) != nullptr; }

std::optional<YamlField> YamlMap::get(std::string_view name) const {
  const Entry* entry = find(name);
  if (!entry) return std::nullopt;
  return value_field(*entry);
}

YamlField YamlMap::need(std::string_view name) const {
  std::optional<YamlField> field = get(name);
  if (!field) self_.fail(cat("missing required key '", name, "'"));
  return *field;
}

std::vector<std::pair<std::string, YamlField>> YamlMap::entries() const {
  std::vector<std::pair<std::string, YamlField>> result;
  for (const Entry& entry : entries_) result.emplace_back(entry.name, value_field(entry));
  return result;
}

std::vector<std::pair<YamlField, YamlField>> YamlMap::keyed_entries() const {
  std::vector<std::pair<YamlField, YamlField>> result;
  for (const Entry& entry : entries_) {
    YamlField value = value_field(entry);
    YamlField key{self_.file, value.key, entry.key, self_.line()};
    result.emplace_back(std::move(key), std::move(value));
  }
  return result;
}

}  // namespace qp::pipeline
