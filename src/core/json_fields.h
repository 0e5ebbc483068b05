// Typed reads of one JSON object's keys for files users bring, every error
// naming the file, the key path and what was expected:
//   "<dir>/config.json: key 'hidden_size' is "384" (a string), expected an integer"
//   "<dir>/tokenizer.json: key 'model.vocab."hello"' is -3, expected an integer from 0 to 2147483647"
// Values are echoed through json_excerpt(), so a 50 MB string or a deeply
// nested value never ends up whole in a message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/json_read.h"

namespace qp {

class JsonFields {
 public:
  // object must be a JSON object; `file` names it in errors, `path` is the key
  // path of this object inside the file ("" for the top level).
  JsonFields(const nlohmann::json& object, std::string file, std::string path = "");

  const nlohmann::json& raw() const { return object_; }
  const std::string& file() const { return file_; }
  // "model.vocab" for key "vocab" under path "model".
  std::string key_path(const std::string& key) const;

  // nullptr when absent or null.
  const nlohmann::json* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }

  std::string string(const std::string& key) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key, int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max()) const;
  int64_t integer_or(const std::string& key, int64_t fallback,
                     int64_t min = std::numeric_limits<int64_t>::min(),
                     int64_t max = std::numeric_limits<int64_t>::max()) const;
  double number(const std::string& key) const;
  double number_or(const std::string& key, double fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  // A nested object; `object_or_empty` gives an empty one when the key is absent.
  JsonFields object(const std::string& key) const;
  std::optional<JsonFields> object_if_present(const std::string& key) const;
  const nlohmann::json& array(const std::string& key) const;

  // Checks a value found elsewhere (an array item, a map value) with the same wording.
  int64_t integer_value(const nlohmann::json& value, const std::string& what, int64_t min, int64_t max) const;
  std::string string_value(const nlohmann::json& value, const std::string& what) const;

  // "<file>: key '<path.key>' is <excerpt> (<kind>), expected <expected>"
  [[noreturn]] void wrong_type(const std::string& key, const nlohmann::json& value,
                               const std::string& expected) const;
  template <typename... Parts>
  [[noreturn]] void error(const std::string& key, Parts&&... parts) const {
    fail(file_, ": key '", key_path(key), "' ", std::forward<Parts>(parts)...);
  }

 private:
  const nlohmann::json& require(const std::string& key) const;

  const nlohmann::json& object_;
  std::string file_;
  std::string path_;
};

}  // namespace qp
