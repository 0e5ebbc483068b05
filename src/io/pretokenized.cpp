#include "io/pretokenized.h"

#include <climits>

#include "core/error.h"
#include "core/json_read.h"

namespace qp {
namespace {

// An integer array field, `size` long when size >= 0.
std::vector<int32_t> int_array(const nlohmann::json& json, const char* key, int64_t size,
                               const std::string& where) {
  const auto& field = json.at(key);
  if (!field.is_array()) fail(where, "\"", key, "\" must be an array of integers");
  if (size >= 0 && static_cast<int64_t>(field.size()) != size)
    fail(where, "\"", key, "\" has ", field.size(), " entries but \"input_ids\" has ", size);
  std::vector<int32_t> values;
  values.reserve(field.size());
  for (const auto& v : field) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      fail(where, "\"", key, "\" holds ", json_excerpt(v), ", expected non-negative integers");
    values.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return values;
}

}  // namespace

Encoding encoding_from_json(const nlohmann::json& json, const std::string& where) {
  Encoding e;
  e.input_ids = int_array(json, "input_ids", -1, where);
  if (e.input_ids.empty()) fail(where, "\"input_ids\" is empty");
  const int64_t n = static_cast<int64_t>(e.input_ids.size());
  e.token_type_ids = json.contains("token_type_ids") ? int_array(json, "token_type_ids", n, where)
                                                     : std::vector<int32_t>(e.input_ids.size(), 0);
  e.attention_mask = json.contains("attention_mask") ? int_array(json, "attention_mask", n, where)
                                                     : std::vector<int32_t>(e.input_ids.size(), 1);
  return e;
}

}  // namespace qp
