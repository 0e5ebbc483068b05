// The JSON of each route, as text-embeddings-inference (TEI) and OpenAI's
// embeddings API spell it: request bodies parsed into plain structs (a
// RequestError naming the key when the shape is wrong), responses built from
// results. No HTTP and no model here, so both sides are testable alone.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quantpipe/model.h"

namespace qp::serve {

// Parses a request body; a RequestError (400, "Request") for what is not JSON
// or not an object.
nlohmann::json parse_body(std::string_view body);

// POST /embed {"inputs": "text" | ["text", …], "normalize": true, "truncate": null,
//              "truncation_direction": "Right", "dimensions": null}
struct EmbedRequest {
  std::vector<std::string> inputs;
  bool normalize = true;
  std::optional<bool> truncate;       // null: the server's --auto-truncate
  std::optional<int64_t> dimensions;  // keep the first N values (Matryoshka), then normalize
};
EmbedRequest parse_embed(const nlohmann::json& body);

// POST /v1/embeddings {"input": "text" | [...], "model": …, "encoding_format": "float" | "base64",
//                      "dimensions": N, "user": …}
struct OpenAiEmbedRequest {
  std::vector<std::string> inputs;
  bool base64 = false;
  std::optional<int64_t> dimensions;
};
OpenAiEmbedRequest parse_openai_embed(const nlohmann::json& body);

// POST /predict {"inputs": "text" | ["a", "b"] (one pair) | [["a"], ["q", "d"], …] (a batch),
//                "raw_scores": false, "truncate": null}
struct PredictRequest {
  std::vector<TextInput> inputs;
  bool batch = false;  // answer with a list per input
  bool raw_scores = false;
  std::optional<bool> truncate;
};
PredictRequest parse_predict(const nlohmann::json& body);

// POST /rerank {"query", "texts": [...], "raw_scores": false, "return_text": false, "truncate": null}
struct RerankRequest {
  std::string query;
  std::vector<std::string> texts;
  bool raw_scores = false;
  bool return_text = false;
  std::optional<bool> truncate;
};
RerankRequest parse_rerank(const nlohmann::json& body);

// POST /tokenize {"inputs": "text" | [...], "add_special_tokens": true}
struct TokenizeRequest {
  std::vector<std::string> inputs;
  bool add_special_tokens = true;
};
TokenizeRequest parse_tokenize(const nlohmann::json& body);

// POST /zero-shot {"inputs": "text" | [...], "candidate_labels": [...],
//                  "hypothesis_template": "This example is {}.", "multi_label": false, "truncate": null}
struct ZeroShotRequest {
  std::vector<std::string> inputs;
  bool batch = false;
  std::vector<std::string> candidate_labels;
  std::string hypothesis_template = "This example is {}.";
  bool multi_label = false;
  std::optional<bool> truncate;
};
ZeroShotRequest parse_zero_shot(const nlohmann::json& body);

// [{"score", "label"}, …] highest first (ties in label order); scores are the
// model's score function of the logits, or the logits themselves when raw.
// Non-finite values are null.
nlohmann::ordered_json predictions_json(const std::vector<float>& logits,
                                        const std::vector<std::string>& labels, ScoreFunction function,
                                        bool raw_scores);

// [{"index", "text"?, "score"}, …] highest first, ties in input order, null scores last.
nlohmann::ordered_json rerank_json(const std::vector<std::optional<float>>& scores,
                                   const std::vector<std::string>& texts, bool return_text);

// [[…], …]: each float in the shortest text that reads back as the same
// float (as TEI's serde_json writes f32), a non-finite value as null. Half
// the bytes of printing them as doubles, for clients to parse too.
std::string float_rows_json(const std::vector<std::vector<float>>& rows);

// {"object": "list", "data": [{"object": "embedding", "embedding", "index"}], "model", "usage"};
// base64: the little-endian float32 bytes.
std::string openai_embeddings_json(const std::vector<std::vector<float>>& embeddings, bool base64,
                                   const std::string& model_id, int64_t tokens);

// {"error": message, "error_type": type}, or OpenAI's {"error": {"message", "type", "code"}}.
std::string error_json(const std::string& message, const std::string& type, int status, bool openai);

}  // namespace qp::serve
