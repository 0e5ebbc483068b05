// The request and response JSON of quantpipe serve's routes, without HTTP:
// TEI's and OpenAI's shapes, and a RequestError with the right status naming
// the key for every body of the wrong shape.
#include "serve/api_json.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io/base64.h"
#include "serve/request_error.h"

namespace qp::serve {
namespace {

using nlohmann::json;

// The status a parse gives, 200 when it parses.
template <typename Parse>
int status_of(Parse&& parse, const std::string& body, std::string* message = nullptr) {
  try {
    parse(parse_body(body));
    return 200;
  } catch (const RequestError& e) {
    if (message) *message = e.what();
    return e.status();
  }
}

TEST(ServeApiJson, EmbedTakesAStringOrAList) {
  EmbedRequest one = parse_embed(json::parse(R"({"inputs": "a b"})"));
  EXPECT_EQ(one.inputs, std::vector<std::string>{"a b"});
  EXPECT_TRUE(one.normalize);
  EXPECT_FALSE(one.truncate.has_value());
  EmbedRequest many = parse_embed(json::parse(
      R"({"inputs": ["x", "y"], "normalize": false, "truncate": true, "dimensions": 8, "other": 1})"));
  EXPECT_EQ(many.inputs, (std::vector<std::string>{"x", "y"}));
  EXPECT_FALSE(many.normalize);
  EXPECT_EQ(many.truncate, true);
  EXPECT_EQ(many.dimensions, 8);
}

TEST(ServeApiJson, WrongShapesAre4xxNamingTheKey) {
  std::string message;
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": 3}", &message), 422);
  EXPECT_NE(message.find("inputs"), std::string::npos) << message;
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": [\"a\", 2]}", &message), 422);
  EXPECT_NE(message.find("inputs[1]"), std::string::npos) << message;
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": \"a\", \"normalize\": \"yes\"}", &message), 422);
  EXPECT_NE(message.find("normalize"), std::string::npos) << message;
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": \"a\", \"dimensions\": 0}"), 422);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": [[101, 102]]}", &message), 422);
  EXPECT_NE(message.find("token ids"), std::string::npos) << message;
  EXPECT_EQ(status_of(parse_embed, "{}"), 422);
  EXPECT_EQ(status_of(parse_embed, "[1, 2]"), 422);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": [}"), 400);
  EXPECT_EQ(status_of(parse_embed, ""), 400);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": []}"), 400);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": \"\"}"), 400);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": \"a\", \"truncation_direction\": \"Left\"}"), 413);
  EXPECT_EQ(status_of(parse_embed, "{\"inputs\": \"a\", \"prompt_name\": \"query\"}"), 413);
  // Nesting deeper than the JSON reader's limit is refused, not recursed into.
  EXPECT_EQ(status_of(parse_embed, std::string(100000, '[') + std::string(100000, ']')), 400);
}

TEST(ServeApiJson, PredictReadsTeisThreeForms) {
  const PredictRequest single = parse_predict(json::parse(R"({"inputs": "t"})"));
  ASSERT_EQ(single.inputs.size(), 1u);
  EXPECT_FALSE(single.batch);
  EXPECT_FALSE(single.inputs[0].text_pair);
  const PredictRequest pair = parse_predict(json::parse(R"({"inputs": ["premise", "hypothesis"]})"));
  ASSERT_EQ(pair.inputs.size(), 1u);
  EXPECT_FALSE(pair.batch);
  EXPECT_EQ(pair.inputs[0].text_pair, "hypothesis");
  const PredictRequest batch =
      parse_predict(json::parse(R"({"inputs": [["a"], ["q", "d"]], "raw_scores": true})"));
  ASSERT_EQ(batch.inputs.size(), 2u);
  EXPECT_TRUE(batch.batch);
  EXPECT_TRUE(batch.raw_scores);
  EXPECT_FALSE(batch.inputs[0].text_pair);
  EXPECT_EQ(batch.inputs[1].text_pair, "d");
  EXPECT_EQ(status_of(parse_predict, R"({"inputs": ["a", "b", "c"]})"), 422);
  EXPECT_EQ(status_of(parse_predict, R"({"inputs": [["a", "b", "c"]]})"), 422);
  EXPECT_EQ(status_of(parse_predict, R"({"inputs": []})"), 400);
}

TEST(ServeApiJson, RerankTokenizeAndZeroShot) {
  const RerankRequest rerank =
      parse_rerank(json::parse(R"({"query": "q", "texts": ["a", "b"], "return_text": true})"));
  EXPECT_EQ(rerank.texts.size(), 2u);
  EXPECT_TRUE(rerank.return_text);
  EXPECT_EQ(status_of(parse_rerank, R"({"query": "q", "texts": []})"), 400);
  EXPECT_EQ(status_of(parse_rerank, R"({"query": "q", "texts": "a"})"), 422);
  EXPECT_FALSE(
      parse_tokenize(json::parse(R"({"inputs": "t", "add_special_tokens": false})")).add_special_tokens);
  const ZeroShotRequest zero = parse_zero_shot(
      json::parse(R"({"inputs": ["t"], "candidate_labels": ["x", "y"], "multi_label": true})"));
  EXPECT_TRUE(zero.batch);
  EXPECT_TRUE(zero.multi_label);
  EXPECT_EQ(zero.hypothesis_template, "This example is {}.");
  EXPECT_EQ(status_of(parse_zero_shot,
                      R"({"inputs": "t", "candidate_labels": ["x"], "hypothesis_template": "no slot"})"),
            422);
  EXPECT_EQ(status_of(parse_zero_shot, R"({"inputs": "t"})"), 422);
}

TEST(ServeApiJson, PredictionsAreSortedScores) {
  const std::vector<std::string> labels = {"neg", "pos", "mid"};
  const nlohmann::ordered_json out =
      predictions_json({0.0f, 2.0f, 1.0f}, labels, ScoreFunction::Softmax, false);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["label"], "pos");
  EXPECT_EQ(out[1]["label"], "mid");
  EXPECT_EQ(out[2]["label"], "neg");
  EXPECT_EQ(out[0].begin().key(), "score") << "TEI's field order: score, label";
  double sum = 0;
  for (const auto& p : out) sum += p["score"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-6);
  const nlohmann::ordered_json raw =
      predictions_json({0.0f, 2.0f, 1.0f}, labels, ScoreFunction::Softmax, true);
  EXPECT_FLOAT_EQ(raw[0]["score"].get<float>(), 2.0f);
  const nlohmann::ordered_json broken =
      predictions_json({0.0f, std::nanf(""), 1.0f}, labels, ScoreFunction::Softmax, false);
  EXPECT_TRUE(broken[0]["score"].is_null()) << broken.dump();
}

TEST(ServeApiJson, RerankOrderAndText) {
  const nlohmann::ordered_json out = rerank_json({0.2f, std::nullopt, 0.9f}, {"a", "b", "c"}, false);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["index"], 2);
  EXPECT_EQ(out[1]["index"], 0);
  EXPECT_EQ(out[2]["index"], 1);
  EXPECT_TRUE(out[2]["score"].is_null());
  EXPECT_FALSE(out[0].contains("text"));
  EXPECT_EQ(rerank_json({0.2f}, {"a"}, true)[0]["text"], "a");
}

TEST(ServeApiJson, OpenAiBase64IsLittleEndianFloat32) {
  const std::vector<std::vector<float>> rows = {{1.0f, -0.5f, 3.25f}};
  const json out = json::parse(openai_embeddings_json(rows, true, "m", 7));
  EXPECT_EQ(out["object"], "list");
  EXPECT_EQ(out["model"], "m");
  EXPECT_EQ(out["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(out["data"][0]["object"], "embedding");
  EXPECT_EQ(out["data"][0]["index"], 0);
  // 1.0f = 00 00 80 3f, -0.5f = 00 00 00 bf, 3.25f = 00 00 50 40
  EXPECT_EQ(out["data"][0]["embedding"], "AACAPwAAAL8AAFBA");
  EXPECT_EQ(json::parse(openai_embeddings_json(rows, false, "m\"q", 7))["data"][0]["embedding"][2], 3.25);
  EXPECT_EQ(json::parse(openai_embeddings_json(rows, false, "m\"q", 7))["model"], "m\"q");
}

TEST(ServeApiJson, FloatRowsReadBackAsTheSameFloats) {
  const std::vector<std::vector<float>> rows = {
      {0.1f, -1.0f / 3.0f, 1e-38f, 3.4e38f, 0.0f, std::nanf("")}, {}, {123456.789f}};
  const std::string text = float_rows_json(rows);
  EXPECT_EQ(text.substr(0, 5), "[[0.1") << "shortest form, not 0.10000000149011612";
  const json parsed = json::parse(text);
  ASSERT_EQ(parsed.size(), 3u);
  for (size_t r = 0; r < rows.size(); ++r) {
    ASSERT_EQ(parsed[r].size(), rows[r].size());
    for (size_t i = 0; i < rows[r].size(); ++i) {
      if (std::isnan(rows[r][i])) {
        EXPECT_TRUE(parsed[r][i].is_null());
      } else {
        EXPECT_EQ(parsed[r][i].get<float>(), rows[r][i]) << text;
      }
    }
  }
}

TEST(ServeApiJson, ErrorBodies) {
  EXPECT_EQ(json::parse(error_json("bad", "Validation", 413, false)),
            json::parse(R"({"error": "bad", "error_type": "Validation"})"));
  EXPECT_EQ(json::parse(error_json("bad", "Validation", 413, true)),
            json::parse(R"({"error": {"message": "bad", "type": "Validation", "code": 413}})"));
  // Text that is not UTF-8 is replaced, never a throw while answering.
  EXPECT_NO_THROW(error_json("bad \xff", "Tokenizer", 422, false));
}

}  // namespace
}  // namespace qp::serve
