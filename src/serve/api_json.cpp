#include "serve/api_json.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/json_fields.h"
#include "core/json_read.h"
#include "eval/ranking.h"
#include "io/base64.h"
#include "serve/request_error.h"

namespace qp::serve {

namespace {

constexpr const char* kBody = "request body";

struct StringList {
  std::vector<std::string> items;
  bool batch = false;  // sent as a list
};

// "text" or ["text", …]; empty lists and empty strings are refused as TEI does.
StringList string_or_list(const JsonFields& fields, const std::string& key) {
  const nlohmann::json* value = fields.find(key);
  if (!value) reject(kWrongShape, kBody, ": '", key, "' is missing (a string or a list of strings)");
  StringList list;
  if (value->is_string()) {
    list.items.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    list.batch = true;
    for (size_t i = 0; i < value->size(); ++i) {
      const nlohmann::json& item = (*value)[i];
      if (item.is_array() && !item.empty() && item.front().is_number_integer())
        reject(kWrongShape, kBody, ": '", key, "[", i,
               "]' is a list of token ids; this server reads text (send the string)");
      list.items.push_back(fields.string_value(item, cat(key, "[", i, "]")));
    }
    if (list.items.empty()) reject(kEmpty, "`", key, "` cannot be empty");
  } else {
    fields.wrong_type(key, *value, "a string or a list of strings");
  }
  for (size_t i = 0; i < list.items.size(); ++i)
    if (list.items[i].empty())
      reject(kEmpty, "Input validation error: `", key, "` cannot be empty",
             list.batch ? cat(" (item ", i, ")") : std::string());
  return list;
}

std::optional<bool> optional_bool(const JsonFields& fields, const std::string& key) {
  if (!fields.has(key)) return std::nullopt;
  return fields.boolean_or(key, false);
}

std::optional<int64_t> optional_dimensions(const JsonFields& fields) {
  if (!fields.has("dimensions")) return std::nullopt;
  return fields.integer("dimensions", 1, 1 << 20);
}

// TEI's truncation_direction; this tokenizer cuts where tokenizer.json says (the right, for
// every model quantpipe runs), so "Left" is refused rather than silently ignored.
void check_truncation_direction(const JsonFields& fields) {
  const std::string direction = fields.string_or("truncation_direction", "Right");
  if (direction == "Right" || direction == "right") return;
  if (direction == "Left" || direction == "left")
    reject(kValidation, "Input validation error: truncation_direction Left is not supported by this server");
  fields.wrong_type("truncation_direction", fields.raw().at("truncation_direction"), "\"Right\" or \"Left\"");
}

void refuse_prompts(const JsonFields& fields) {
  if (fields.has("prompt_name"))
    reject(kValidation,
           "Input validation error: prompt_name is not supported by this server (prepend the "
           "prompt to the text)");
}

// Runs a parser, turning the typed-read errors of JsonFields (qp::Error) into 422s.
template <typename Parse>
auto parse_fields(const nlohmann::json& body, Parse&& parse) {
  if (!body.is_object()) reject(kWrongShape, kBody, " is ", json_kind(body), "; expected a JSON object");
  try {
    return parse(JsonFields(body, kBody));
  } catch (const RequestError&) {
    throw;
  } catch (const Error& e) {
    reject(kWrongShape, e.what());
  }
}

nlohmann::json finite_or_null(float value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

}  // namespace

nlohmann::json parse_body(std::string_view body) {
  try {
    return parse_json(body, kBody);
  } catch (const Error& e) {
    reject(kMalformedBody, e.what());
  }
}

EmbedRequest parse_embed(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    check_truncation_direction(fields);
    refuse_prompts(fields);
    EmbedRequest request;
    request.inputs = string_or_list(fields, "inputs").items;
    request.normalize = fields.boolean_or("normalize", true);
    request.truncate = optional_bool(fields, "truncate");
    request.dimensions = optional_dimensions(fields);
    return request;
  });
}

OpenAiEmbedRequest parse_openai_embed(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    OpenAiEmbedRequest request;
    request.inputs = string_or_list(fields, "input").items;
    const std::string format = fields.string_or("encoding_format", "float");
    if (format != "float" && format != "base64")
      fields.error("encoding_format", "is \"", format, "\"; expected \"float\" or \"base64\"");
    request.base64 = format == "base64";
    request.dimensions = optional_dimensions(fields);
    if (fields.has("model")) fields.string("model");  // any name: the server has one model
    return request;
  });
}

PredictRequest parse_predict(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    check_truncation_direction(fields);
    PredictRequest request;
    request.raw_scores = fields.boolean_or("raw_scores", false);
    request.truncate = optional_bool(fields, "truncate");
    const nlohmann::json* inputs = fields.find("inputs");
    const char* expected =
        "a string, a pair of strings [string, string] or a batch of mixed strings and pairs [[string], "
        "[string, string], ...]";
    if (!inputs) reject(kWrongShape, kBody, ": 'inputs' is missing (", expected, ")");
    // One sequence: "text", ["text"] or ["text", "pair"].
    const auto sequence = [&](const nlohmann::json& value, const std::string& where) -> TextInput {
      if (value.is_string()) return {value.get<std::string>(), std::nullopt};
      if (value.is_array() && (value.size() == 1 || value.size() == 2)) {
        TextInput input{fields.string_value(value[0], where + "[0]"), std::nullopt};
        if (value.size() == 2) input.text_pair = fields.string_value(value[1], where + "[1]");
        return input;
      }
      reject(kWrongShape, kBody, ": '", where, "' is ", json_excerpt(value), "; expected ", expected);
    };
    if (inputs->is_array() && inputs->empty()) reject(kEmpty, "`inputs` cannot be empty");
    const bool batch = inputs->is_array() && inputs->front().is_array();
    if (!batch) {
      request.inputs.push_back(sequence(*inputs, "inputs"));
    } else {
      request.batch = true;
      for (size_t i = 0; i < inputs->size(); ++i)
        request.inputs.push_back(sequence((*inputs)[i], cat("inputs[", i, "]")));
    }
    for (const TextInput& input : request.inputs)
      if (input.text.empty() || (input.text_pair && input.text_pair->empty()))
        reject(kEmpty, "Input validation error: `inputs` cannot be empty");
    return request;
  });
}

RerankRequest parse_rerank(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    check_truncation_direction(fields);
    RerankRequest request;
    request.query = fields.string("query");
    if (request.query.empty()) reject(kEmpty, "`query` cannot be empty");
    const nlohmann::json& texts = fields.array("texts");
    if (texts.empty()) reject(kEmpty, "`texts` cannot be empty");
    for (size_t i = 0; i < texts.size(); ++i) {
      request.texts.push_back(fields.string_value(texts[i], cat("texts[", i, "]")));
      if (request.texts.back().empty()) reject(kEmpty, "`texts` cannot hold an empty string (item ", i, ")");
    }
    request.raw_scores = fields.boolean_or("raw_scores", false);
    request.return_text = fields.boolean_or("return_text", false);
    request.truncate = optional_bool(fields, "truncate");
    return request;
  });
}

TokenizeRequest parse_tokenize(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    refuse_prompts(fields);
    TokenizeRequest request;
    request.inputs = string_or_list(fields, "inputs").items;
    request.add_special_tokens = fields.boolean_or("add_special_tokens", true);
    return request;
  });
}

ZeroShotRequest parse_zero_shot(const nlohmann::json& body) {
  return parse_fields(body, [](const JsonFields& fields) {
    check_truncation_direction(fields);
    ZeroShotRequest request;
    const StringList inputs = string_or_list(fields, "inputs");
    request.inputs = inputs.items;
    request.batch = inputs.batch;
    const StringList labels = string_or_list(fields, "candidate_labels");
    request.candidate_labels = labels.items;
    request.hypothesis_template = fields.string_or("hypothesis_template", request.hypothesis_template);
    if (request.hypothesis_template.find("{}") == std::string::npos)
      fields.error("hypothesis_template", "is \"", request.hypothesis_template,
                   "\"; it needs {} where each candidate label goes");
    request.multi_label = fields.boolean_or("multi_label", false);
    request.truncate = optional_bool(fields, "truncate");
    return request;
  });
}

nlohmann::ordered_json predictions_json(const std::vector<float>& logits,
                                        const std::vector<std::string>& labels, ScoreFunction function,
                                        bool raw_scores) {
  const Classification c = classification_from_logits(logits, labels, function);
  const std::vector<float>& values = raw_scores ? c.logits : c.scores;
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (c.has_label())
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] > values[b]; });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i : order) {
    const std::string label = i < labels.size() ? labels[i] : cat("LABEL_", i);
    out.push_back(
        {{"score", c.has_label() ? finite_or_null(values[i]) : nlohmann::json()}, {"label", label}});
  }
  return out;
}

nlohmann::ordered_json rerank_json(const std::vector<std::optional<float>>& scores,
                                   const std::vector<std::string>& texts, bool return_text) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i : eval::order_by_score(scores)) {
    nlohmann::ordered_json item = {{"index", i}};
    if (return_text) item["text"] = texts[i];
    item["score"] = scores[i] ? nlohmann::json(*scores[i]) : nlohmann::json();
    out.push_back(std::move(item));
  }
  return out;
}

namespace {

void append_float_row(std::string& out, const std::vector<float>& row) {
  out += '[';
  char text[32];
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += ',';
    if (!std::isfinite(row[i])) {
      out += "null";
      continue;
    }
    const auto [end, error] = std::to_chars(text, text + sizeof text, row[i]);
    out.append(text, end);
  }
  out += ']';
}

}  // namespace

std::string float_rows_json(const std::vector<std::vector<float>>& rows) {
  std::string out = "[";
  out.reserve(rows.size() * (rows.empty() ? 2 : rows[0].size() * 12 + 2) + 2);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r) out += ',';
    append_float_row(out, rows[r]);
  }
  return out + "]";
}

std::string openai_embeddings_json(const std::vector<std::vector<float>>& embeddings, bool base64,
                                   const std::string& model_id, int64_t tokens) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  std::string out = R"({"object":"list","data":[)";
  for (size_t i = 0; i < embeddings.size(); ++i) {
    out += i ? R"(,{"object":"embedding","embedding":)" : R"({"object":"embedding","embedding":)";
    if (base64) {
      std::string bytes(embeddings[i].size() * sizeof(float), '\0');
      std::memcpy(bytes.data(), embeddings[i].data(), bytes.size());
      out += '"' + base64_encode(bytes) + '"';
    } else {
      append_float_row(out, embeddings[i]);
    }
    out += R"(,"index":)" + std::to_string(i) + "}";
  }
  out += R"(],"model":)" +
         nlohmann::json(model_id).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += R"(,"usage":{"prompt_tokens":)" + std::to_string(tokens) + R"(,"total_tokens":)" +
         std::to_string(tokens) + "}}";
  return out;
}

std::string error_json(const std::string& message, const std::string& type, int status, bool openai) {
  const auto replace = nlohmann::json::error_handler_t::replace;
  if (openai)
    return nlohmann::ordered_json{{"error", {{"message", message}, {"type", type}, {"code", status}}}}.dump(
        -1, ' ', false, replace);
  return nlohmann::ordered_json{{"error", message}, {"error_type", type}}.dump(-1, ' ', false, replace);
}

}  // namespace qp::serve
