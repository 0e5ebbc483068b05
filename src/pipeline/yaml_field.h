// Typed reads from yaml-cpp nodes that remember where they are (file, line and
// key path), so every conversion error can say "<file>:<line>: <key>: <what>"
// without each caller threading that context by hand.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qp::pipeline {

struct YamlField {
  std::string file;
  std::string key;  // "models[2].quantization.bits"; empty at the document root
  YAML::Node node;
  int fallback_line = 0;  // used when yaml-cpp has no position for the node

  int line() const;  // 1-based; 0 when unknown
  [[noreturn]] void fail(std::string_view why) const;

  std::string as_string() const;
  int64_t as_int() const;
  double as_number() const;
  bool as_bool() const;
  // A list of strings; a single string is taken as a list of one.
  std::vector<std::string> as_string_list() const;
  // The elements of a list, keyed "key[i]".
  std::vector<YamlField> items() const;
};

// A YAML map read key by key. The strict form is given the keys it knows and
// refuses any other before a value is read, so a typo ("quantisation") is
// reported as itself rather than as a missing "quantization".
class YamlMap {
 public:
  explicit YamlMap(YamlField field);  // free-form keys; fails unless a map
  YamlMap(YamlField field, std::vector<std::string_view> known);

  bool has(std::string_view name) const;
  std::optional<YamlField> get(std::string_view name) const;
  YamlField need(std::string_view name) const;  // fails naming the missing key
  const YamlField& field() const { return self_; }
  // Each key with its value, in file order (for free-form maps such as label_mapping).
  std::vector<std::pair<std::string, YamlField>> entries() const;
  // Each key (as a field, for messages and its line) with its value, in file order.
  std::vector<std::pair<YamlField, YamlField>> keyed_entries() const;

 private:
  struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
  };
  const Entry* find(std::string_view name) const;
  YamlField value_field(const Entry& entry) const;
  void reject_unknown(const std::vector<std::string_view>& known) const;

  YamlField self_;
  std::vector<Entry> entries_;
};

}  // namespace qp::pipeline
