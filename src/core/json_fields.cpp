#include "core/json_fields.h"

namespace qp {

using json = nlohmann::json;

JsonFields::JsonFields(const json& object, std::string file, std::string path)
    : object_(object), file_(std::move(file)), path_(std::move(path)) {
  if (!object_.is_object()) {
    if (path_.empty()) fail(file_, ": expected a JSON object, found ", json_kind(object_));
    fail(file_, ": key '", path_, "' is ", json_excerpt(object_), " (", json_kind(object_),
         "), expected an object");
  }
}

std::string JsonFields::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

const json* JsonFields::find(const std::string& key) const {
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& JsonFields::require(const std::string& key) const {
  const json* value = find(key);
  if (!value) fail(file_, ": missing key '", key_path(key), "'");
  return *value;
}

void JsonFields::wrong_type(const std::string& key, const json& value, const std::string& expected) const {
  fail(file_, ": key '", key_path(key), "' is ", json_excerpt(value), " (", json_kind(value), "), expected ",
       expected);
}

std::string JsonFields::string_value(const json& value, const std::string& what) const {
  if (!value.is_string()) wrong_type(what, value, "a string");
  return value.get<std::string>();
}

int64_t JsonFields::integer_value(const json& value, const std::string& what, int64_t min,
                                  int64_t max) const {
  const auto range = [&] { return cat("an integer from ", min, " to ", max); };
  if (!value.is_number_integer()) wrong_type(what, value, range());
  // A parsed integer above INT64_MAX is number_unsigned; compare without converting first.
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max))
    wrong_type(what, value, range());
  const int64_t v = value.get<int64_t>();
  if (v < min || v > max) wrong_type(what, value, range());
  return v;
}

std::string JsonFields::string(const std::string& key) const { return string_value(require(key), key); }

std::string JsonFields::string_or(const std::string& key, const std::string& fallback) const {
  const json* value = find(key);
  return value ? string_value(*value, key) : fallback;
}

int64_t JsonFields::integer(const std::string& key, int64_t min, int64_t max) const {
  return integer_value(require(key), key, min, max);
}

int64_t JsonFields::integer_or(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
  const json* value = find(key);
  return value ? integer_value(*value, key, min, max) : fallback;
}

double JsonFields::number(const std::string& key) const {
  const json& value = require(key);
  if (!value.is_number()) wrong_type(key, value, "a number");
  return value.get<double>();
}

double JsonFields::number_or(const std::string& key, double fallback) const {
  return has(key) ? number(key) : fallback;
}

bool JsonFields::boolean_or(const std::string& key, bool fallback) const {
  const json* value = find(key);
  if (!value) return fallback;
  if (!value->is_boolean()) wrong_type(key, *value, "true or false");
  return value->get<bool>();
}

JsonFields JsonFields::object(const std::string& key) const {
  return JsonFields(require(key), file_, key_path(key));
}

std::optional<JsonFields> JsonFields::object_if_present(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return object(key);
}

const json& JsonFields::array(const std::string& key) const {
  const json& value = require(key);
  if (!value.is_array()) wrong_type(key, value, "an array");
  return value;
}

}  // namespace qp
