// quantpipe serve end to end, as a child process on 127.0.0.1: every route's
// JSON equals the CLI's for the same texts; 32 concurrent clients × 50
// requests each get their own answers; bad bodies, huge bodies and slow
// clients get 4xx or a dropped connection, never a crash; auth, CORS, the
// access log; SIGTERM while busy.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <map>

#include "../unit/test_paths.h"
#include "serve_process.h"

namespace qp::test {
namespace {

using nlohmann::json;

const std::vector<std::string> kTexts = {"the cat sat on the mat", "hello world",
                                         "a much longer line with many more words in it than the others have",
                                         "x"};

// Standard base64 (RFC 4648, '=' padding) decoded here, independently of the
// server's encoder.
std::string decode_base64(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const size_t value = alphabet.find(c);
    if (value == std::string::npos) ADD_FAILURE() << "not base64: " << c;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = std::make_unique<TempDir>();
    models_ = std::make_unique<ServeModels>(root_->path());
  }
  static void TearDownTestSuite() {
    models_.reset();
    root_.reset();
  }

  std::filesystem::path write_lines(const std::string& name, const std::vector<std::string>& lines) const {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    const std::filesystem::path path = tmp_.path() / name;
    write_bytes(path, text);
    return path;
  }

  // The CLI's JSONL output for these texts.
  std::vector<json> cli(const std::vector<std::string>& args, const std::vector<std::string>& texts) const {
    std::vector<std::string> all = args;
    all.push_back("--input");
    all.push_back(write_lines("in.txt", texts).string());
    const CliResult result = run_cli(all);
    EXPECT_EQ(result.exit_code, 0) << result;
    return parse_jsonl(result.out);
  }

  static float max_abs_diff(const json& a, const json& b) {
    EXPECT_EQ(a.size(), b.size()) << a.dump().substr(0, 200) << " vs " << b.dump().substr(0, 200);
    float worst = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      worst = std::max(worst, std::abs(a[i].get<float>() - b[i].get<float>()));
    return worst;
  }

  static inline std::unique_ptr<TempDir> root_;
  static inline std::unique_ptr<ServeModels> models_;
  TempDir tmp_;
};

TEST_F(ServeTest, EmbeddingRoutesEqualTheCli) {
  const std::vector<json> expected = cli({"embed", "-m", models_->embed.string()}, kTexts);
  ASSERT_EQ(expected.size(), kTexts.size());
  ServeProcess server(models_->embed);
  ASSERT_TRUE(server.started());

  const json rows = server.post_json("/embed", {{"inputs", kTexts}});
  ASSERT_EQ(rows.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i)
    EXPECT_LT(max_abs_diff(rows[i], expected[i]["embedding"]), 1e-5f) << kTexts[i];
  const json single = server.post_json("/embed", {{"inputs", kTexts[1]}});
  ASSERT_EQ(single.size(), 1u) << "TEI answers a single string with a list of one";
  EXPECT_LT(max_abs_diff(single[0], expected[1]["embedding"]), 1e-5f);

  // dimensions: the first 8 values, normalized again; normalize=false keeps the raw pooled vector.
  const json cut = server.post_json("/embed", {{"inputs", kTexts[0]}, {"dimensions", 8}});
  ASSERT_EQ(cut[0].size(), 8u);
  double norm = 0;
  for (size_t j = 0; j < 8; ++j) norm += std::pow(expected[0]["embedding"][j].get<double>(), 2);
  for (size_t j = 0; j < 8; ++j)
    EXPECT_NEAR(cut[0][j].get<double>(), expected[0]["embedding"][j].get<double>() / std::sqrt(norm), 1e-5);
  const json raw = server.post_json("/embed", {{"inputs", kTexts[0]}, {"normalize", false}});
  double raw_norm = 0;
  for (const auto& v : raw[0]) raw_norm += v.get<double>() * v.get<double>();
  EXPECT_GT(std::abs(std::sqrt(raw_norm) - 1.0), 1e-3) << "the tiny model's pooled vector is not unit length";
  for (size_t j = 0; j < raw[0].size(); ++j)
    EXPECT_NEAR(raw[0][j].get<double>() / std::sqrt(raw_norm), expected[0]["embedding"][j].get<double>(),
                1e-5);

  // OpenAI's route: floats, and base64 of the same little-endian float32 values.
  const json openai = server.post_json("/v1/embeddings", {{"input", kTexts}, {"model", "anything"}});
  EXPECT_EQ(openai["object"], "list");
  EXPECT_EQ(openai["model"], models_->embed.string());
  ASSERT_EQ(openai["data"].size(), kTexts.size());
  int64_t tokens = 0;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    EXPECT_EQ(openai["data"][i]["index"], i);
    EXPECT_LT(max_abs_diff(openai["data"][i]["embedding"], expected[i]["embedding"]), 1e-5f);
  }
  const json base64 =
      server.post_json("/v1/embeddings", {{"input", kTexts[2]}, {"encoding_format", "base64"}});
  const std::string bytes = decode_base64(base64["data"][0]["embedding"].get<std::string>());
  ASSERT_EQ(bytes.size(), expected[2]["embedding"].size() * sizeof(float));
  std::vector<float> decoded(bytes.size() / sizeof(float));
  std::memcpy(decoded.data(), bytes.data(), bytes.size());
  EXPECT_LT(max_abs_diff(json(decoded), expected[2]["embedding"]), 1e-5f);

  // /tokenize: the CLI's ids and token strings, special tokens marked.
  const std::vector<json> cli_tokens = cli({"tokenize", "-m", models_->embed.string(), "--tokens"}, kTexts);
  const json tokenized = server.post_json("/tokenize", {{"inputs", kTexts}});
  ASSERT_EQ(tokenized.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const json& want = cli_tokens[i];
    ASSERT_EQ(tokenized[i].size(), want["input_ids"].size());
    for (size_t t = 0; t < tokenized[i].size(); ++t) {
      EXPECT_EQ(tokenized[i][t]["id"], want["input_ids"][t]);
      EXPECT_EQ(tokenized[i][t]["text"], want["tokens"][t]);
      const bool edge = t == 0 || t + 1 == tokenized[i].size();
      EXPECT_EQ(tokenized[i][t]["special"], edge) << tokenized[i][t].dump();
    }
    tokens += static_cast<int64_t>(want["input_ids"].size());
  }
  EXPECT_EQ(openai["usage"]["prompt_tokens"], tokens);
  const json plain = server.post_json("/tokenize", {{"inputs", kTexts[1]}, {"add_special_tokens", false}});
  ASSERT_EQ(plain[0].size() + 2, cli_tokens[1]["input_ids"].size());
  EXPECT_EQ(plain[0][0]["id"], cli_tokens[1]["input_ids"][1]);

  // /info, /health, /metrics.
  const auto client = server.client();
  const auto info = client->Get("/info");
  ASSERT_TRUE(info);
  const json info_json = json::parse(info->body);
  EXPECT_EQ(info_json["model_type"]["embedding"]["pooling"], "mean");
  EXPECT_EQ(info_json["model_dtype"], "fp32");
  EXPECT_EQ(info_json["max_client_batch_size"], 32);
  const auto health = client->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(health->body.empty());
  EXPECT_FALSE(health->has_header("Access-Control-Allow-Origin")) << "no CORS unless asked";
  const auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("quantpipe_requests_total{route=\"/embed\",code=\"200\"} 4"),
            std::string::npos)
      << metrics->body;
  for (const char* name :
       {"quantpipe_request_duration_seconds_bucket", "quantpipe_batch_size_bucket",
        "quantpipe_batch_tokens_bucket", "quantpipe_queue_depth 0", "quantpipe_tokens_total{route="})
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name << " in\n" << metrics->body;
  EXPECT_EQ(server.terminate_and_wait().exit_code, 0);
}

TEST_F(ServeTest, ClassifierRoutesEqualTheCli) {
  const std::vector<json> expected = cli({"classify", "-m", models_->classify.string()}, kTexts);
  ServeProcess server(models_->classify);
  ASSERT_TRUE(server.started());
  json batch = json::array();
  for (const std::string& text : kTexts) batch.push_back({text});
  const json scored = server.post_json("/predict", {{"inputs", batch}});
  const json raw = server.post_json("/predict", {{"inputs", batch}, {"raw_scores", true}});
  ASSERT_EQ(scored.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ASSERT_EQ(scored[i].size(), 3u);
    EXPECT_EQ(scored[i][0]["label"], expected[i]["label"]);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(scored[i][k]["label"], expected[i]["scores"][k]["label"]) << "the CLI's order, highest first";
      EXPECT_NEAR(scored[i][k]["score"].get<double>(), expected[i]["scores"][k]["score"].get<double>(), 1e-5);
      const int label = std::stoi(raw[i][k]["label"].get<std::string>().substr(6));  // LABEL_i
      EXPECT_NEAR(raw[i][k]["score"].get<double>(), expected[i]["logits"][label].get<double>(), 1e-5);
    }
  }
  // A pair: ["text", "pair"] is one input, answered with one list.
  const std::filesystem::path pair_input = tmp_.path() / "pair.jsonl";
  write_bytes(pair_input, json({{"text", kTexts[0]}, {"text_pair", kTexts[1]}}).dump() + "\n");
  const CliResult pair_cli =
      run_cli({"classify", "-m", models_->classify.string(), "-i", pair_input.string()});
  ASSERT_EQ(pair_cli.exit_code, 0) << pair_cli;
  const json pair_expected = parse_jsonl(pair_cli.out).at(0);
  const json pair = server.post_json("/predict", {{"inputs", {kTexts[0], kTexts[1]}}});
  ASSERT_EQ(pair.size(), 3u);
  EXPECT_EQ(pair[0]["label"], pair_expected["label"]);
  EXPECT_NEAR(pair[0]["score"].get<double>(), pair_expected["scores"][0]["score"].get<double>(), 1e-5);
  // Routes the model cannot serve say why.
  const auto [status, body] = server.post("/rerank", json({{"query", "q"}, {"texts", {"a"}}}).dump());
  EXPECT_EQ(status, 424);
  EXPECT_NE(body.find("re-ranker"), std::string::npos) << body;
  const auto [zero_status, zero_body] =
      server.post("/zero-shot", json({{"inputs", "q"}, {"candidate_labels", {"a"}}}).dump());
  EXPECT_EQ(zero_status, 424);
  EXPECT_NE(zero_body.find("entailment"), std::string::npos) << zero_body;
}

TEST_F(ServeTest, RerankEqualsTheCli) {
  const std::string query = "where does the cat sit";
  const CliResult cli_result = run_cli({"rerank", "-m", models_->rerank.string(), "--query", query, "-i",
                                        write_lines("p.txt", kTexts).string()});
  ASSERT_EQ(cli_result.exit_code, 0) << cli_result;
  const json expected = parse_jsonl(cli_result.out).at(0);
  ServeProcess server(models_->rerank);
  ASSERT_TRUE(server.started());
  const json ranked =
      server.post_json("/rerank", {{"query", query}, {"texts", kTexts}, {"return_text", true}});
  ASSERT_EQ(ranked.size(), expected.size());
  for (size_t i = 0; i < ranked.size(); ++i) {
    EXPECT_EQ(ranked[i]["index"], expected[i]["index"]);
    EXPECT_EQ(ranked[i]["text"], expected[i]["text"]);
    EXPECT_NEAR(ranked[i]["score"].get<double>(), expected[i]["score"].get<double>(), 1e-5);
  }
  const json bare = server.post_json("/rerank", {{"query", query}, {"texts", kTexts}});
  EXPECT_FALSE(bare[0].contains("text")) << "text only with return_text";

  // Issue 21: a 1 MiB query with 200k one-letter texts fits the 2 MiB body
  // limit, and pairing the query with each text asked for 200 GiB before
  // the batch size was checked. Refused at once now; the server stays up.
  std::string body = json({{"query", std::string(1 << 20, 'q')}}).dump();
  body.pop_back();
  body += ",\"texts\":[\"a\"";
  for (int i = 1; i < 200000; ++i) body += ",\"a\"";
  body += "]}";
  const auto [status, answer] = server.post("/rerank", body);
  EXPECT_EQ(status, 413) << answer.substr(0, 300);
  EXPECT_NE(answer.find("batch size 200000 > maximum allowed batch size 32"), std::string::npos)
      << answer.substr(0, 300);
  EXPECT_EQ(server.post_json("/rerank", {{"query", query}, {"texts", kTexts}}).size(), kTexts.size());
  const auto info = server.client()->Get("/info");
  ASSERT_TRUE(info);
  EXPECT_TRUE(json::parse(info->body)["model_type"].contains("reranker")) << info->body;
}

TEST_F(ServeTest, ZeroShotEqualsTheCli) {
  const std::vector<std::string> labels = {"sports", "politics", "science"};
  ServeProcess server(models_->nli);
  ASSERT_TRUE(server.started());
  for (const bool multi : {false, true}) {
    std::vector<std::string> args = {"classify",
                                     "-m",
                                     models_->nli.string(),
                                     "--zero-shot",
                                     "sports,politics,science",
                                     "--hypothesis-template",
                                     "It is about {}."};
    if (multi) args.push_back("--multi-label");
    const std::vector<json> expected = cli(args, kTexts);
    const json got = server.post_json("/zero-shot", {{"inputs", kTexts},
                                                     {"candidate_labels", labels},
                                                     {"hypothesis_template", "It is about {}."},
                                                     {"multi_label", multi}});
    ASSERT_EQ(got.size(), kTexts.size());
    for (size_t i = 0; i < kTexts.size(); ++i) {
      EXPECT_EQ(got[i]["sequence"], expected[i]["sequence"]);
      EXPECT_EQ(got[i]["labels"], expected[i]["labels"]) << "multi_label " << multi;
      EXPECT_LT(max_abs_diff(got[i]["scores"], expected[i]["scores"]), 1e-5f);
    }
  }
  const json one = server.post_json("/zero-shot", {{"inputs", kTexts[0]}, {"candidate_labels", labels}});
  EXPECT_TRUE(one.is_object()) << "a single text is answered with one object, as the pipeline does";

  // Issue 21: every input is paired with every label's hypothesis, each a
  // copy; 32 inputs of 60 KB and 32 labels with a 60 KB template would be
  // 120 MB of pairs from a 2 MB body. Refused before they are built.
  const std::vector<std::string> long_inputs(32, std::string(60000, 'x'));
  const std::vector<std::string> many_labels(32, "label");
  const auto [status, answer] =
      server.post("/zero-shot", json({{"inputs", long_inputs},
                                      {"candidate_labels", many_labels},
                                      {"hypothesis_template", std::string(1000, 'y') + " {}"}})
                                    .dump());
  EXPECT_EQ(status, 413) << answer.substr(0, 300);
  EXPECT_NE(answer.find("premise/hypothesis pairs would hold"), std::string::npos) << answer.substr(0, 300);
}

// 32 clients × 50 requests of 1–3 texts each, every text different: each
// answer must be its own request's embeddings, in its order.
TEST_F(ServeTest, ConcurrentClientsGetTheirOwnAnswers) {
  constexpr int kClients = 32, kRequests = 50;
  std::vector<std::string> words;
  for (const std::string& w : tiny_bert_vocab())
    if (w.find_first_of("[#") == std::string::npos && w.size() > 1) words.push_back(w);
  ASSERT_GE(words.size(), 20u);
  std::vector<std::string> texts;  // request r of client c uses texts [3·(c·kRequests + r), … + count)
  for (int i = 0; i < kClients * kRequests * 3; ++i) {
    const size_t n = words.size();
    texts.push_back(words[i % n] + " " + words[(i / n) % n] + " " + words[(i / n / n) % n] + " " +
                    words[(i * 7 + 3) % n]);
  }
  const std::vector<json> expected = cli({"embed", "-m", models_->embed.string()}, texts);
  ASSERT_EQ(expected.size(), texts.size());
  ServeProcess server(models_->embed, {"--threads", "2", "--max-batch-tokens", "512"});
  ASSERT_TRUE(server.started());
  std::atomic<int> answered{0}, wrong{0}, failed{0};
  std::vector<std::string> first_problem(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      const auto client = server.client(120);
      for (int r = 0; r < kRequests; ++r) {
        const int first = 3 * (c * kRequests + r), count = 1 + (c + r) % 3;
        const std::vector<std::string> mine(texts.begin() + first, texts.begin() + first + count);
        const auto result = client->Post("/embed", json({{"inputs", mine}}).dump(), "application/json");
        if (!result || result->status != 200) {
          ++failed;
          if (first_problem[c].empty())
            first_problem[c] = result ? result->body : httplib::to_string(result.error());
          continue;
        }
        const json rows = json::parse(result->body);
        bool same = rows.size() == mine.size();
        for (size_t i = 0; same && i < rows.size(); ++i)
          same = max_abs_diff(rows[i], expected[static_cast<size_t>(first) + i]["embedding"]) < 1e-5f;
        (same ? answered : wrong)++;
      }
    });
  for (std::thread& t : clients) t.join();
  for (const std::string& problem : first_problem) EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), kClients * kRequests);
  // The scheduler batched across clients: some batch held more than one request's texts.
  const auto metrics = server.client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::regex one_sequence_batches("quantpipe_batch_size_bucket\\{le=\"1\"\\} ([0-9]+)");
  const std::regex all_batches("quantpipe_batch_size_count ([0-9]+)");
  std::smatch ones, all;
  ASSERT_TRUE(std::regex_search(metrics->body, ones, one_sequence_batches)) << metrics->body;
  ASSERT_TRUE(std::regex_search(metrics->body, all, all_batches)) << metrics->body;
  EXPECT_LT(std::stoll(all[1]), kClients * kRequests) << "fewer batches than requests";
  EXPECT_EQ(server.terminate_and_wait().exit_code, 0);
}

// Connects, sends part of a request and then nothing.
int send_partial_request(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  const std::string partial = "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\": ";
  if (send(fd, partial.data(), partial.size(), 0) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ServeTest, BadRequestsGet4xxAndTheServerStaysUp) {
  ServeProcess server(models_->embed,
                      {"--max-body-bytes", "65536", "--max-client-batch-size", "4", "--read-timeout", "1",
                       "--access-log", (tmp_.path() / "access.jsonl").string()});
  ASSERT_TRUE(server.started());
  const auto status_and_type = [&](const std::string& path, const std::string& body) {
    const auto [status, text] = server.post(path, body);
    std::string type;
    if (!text.empty() && json::accept(text)) type = json::parse(text).value("error_type", "");
    return std::pair(status, type);
  };
  EXPECT_EQ(status_and_type("/embed", "{\"inputs\": "), std::pair(400, std::string("Request")));
  EXPECT_EQ(status_and_type("/embed", "not json at all"), std::pair(400, std::string("Request")));
  EXPECT_EQ(status_and_type("/embed", "{\"inputs\": 42}"), std::pair(422, std::string("Request")));
  EXPECT_EQ(status_and_type("/embed", "{\"inputs\": [\"a\", null]}"), std::pair(422, std::string("Request")));
  EXPECT_EQ(status_and_type("/embed", "{\"inputs\": []}"), std::pair(400, std::string("Empty")));
  EXPECT_EQ(status_and_type("/embed", json({{"inputs", {"a", "b", "c", "d", "e"}}}).dump()),
            std::pair(413, std::string("Validation")));
  EXPECT_EQ(status_and_type("/embed", "{\"inputs\": \"bad \xff\xfe utf-8\"}").first, 400)
      << "not UTF-8: the JSON reader refuses it";
  EXPECT_EQ(status_and_type("/embed", std::string(100000, 'x')).first, 413) << "over --max-body-bytes";
  EXPECT_EQ(status_and_type("/nowhere", "{}").first, 404);
  EXPECT_EQ(status_and_type("/v1/embeddings", "{\"input\": 1}").first, 422);
  const auto [openai_status, openai_body] = server.post("/v1/embeddings", "{\"input\": 1}");
  EXPECT_TRUE(json::parse(openai_body)["error"].contains("message")) << openai_body;

  // Longer than the model's 64 positions: refused with the count, or cut when asked.
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  const auto [long_status, long_body] = server.post("/embed", json({{"inputs", long_text}}).dump());
  EXPECT_EQ(long_status, 413);
  EXPECT_TRUE(std::regex_search(long_body, std::regex("at most 64 tokens. Given: [0-9]{3}"))) << long_body;
  EXPECT_EQ(server.post("/embed", json({{"inputs", long_text}, {"truncate", true}}).dump()).first, 200);

  // Slow clients are dropped after --read-timeout, and block no one meanwhile.
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) slow.push_back(send_partial_request(server.port()));
  EXPECT_EQ(server.post("/embed", json({{"inputs", "still served"}}).dump()).first, 200);
  for (int fd : slow) {
    ASSERT_GE(fd, 0);
    timeval wait{10, 0};  // far above --read-timeout 1: a hang shows as a failure, not a stuck test
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char buffer[512];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    EXPECT_GE(n, 0) << "the server dropped the silent client (closed, or answered 4xx)";
    if (n > 0) {
      const std::string answer(buffer, static_cast<size_t>(n));
      EXPECT_EQ(answer.substr(0, 10), "HTTP/1.1 4") << answer;
    }
    close(fd);
  }
  const auto health = server.client()->Get("/health");
  ASSERT_TRUE(health) << "the server survived";
  EXPECT_EQ(health->status, 200);
  const CliResult ended = server.terminate_and_wait();
  EXPECT_EQ(ended.exit_code, 0) << ended;

  // The access log: one JSON line per answer, with its status.
  std::map<int, int> statuses;
  for (const std::string& line : split_lines(read_bytes(tmp_.path() / "access.jsonl"))) {
    const json record = json::parse(line);
    for (const char* key : {"time", "remote", "method", "path", "status", "request_bytes", "response_bytes"})
      EXPECT_TRUE(record.contains(key)) << key << " in " << line;
    ++statuses[record["status"].get<int>()];
  }
  EXPECT_EQ(statuses[200], 3);
  EXPECT_GE(statuses[400], 3);
  EXPECT_EQ(statuses[404], 1);
}

TEST_F(ServeTest, BearerTokenAndCors) {
  ServeProcess server(models_->embed, {"--api-key", "s3cret", "--cors-allow-origin", "https://app.example"});
  ASSERT_TRUE(server.started());
  const std::string body = json({{"inputs", "hello"}}).dump();
  const auto none = server.client()->Post("/embed", body, "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(server.post("/embed", body, {{"Authorization", "Bearer wrong"}}).first, 401);
  EXPECT_EQ(server.post("/embed", body, {{"Authorization", "Bearer s3cret"}}).first, 200);
  const auto client = server.client();
  const auto health = client->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "health checks need no key";
  EXPECT_EQ(health->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  const auto preflight = client->Options("/embed");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);
}

// SIGTERM while 8 clients keep sending: every answer that comes is right and
// complete (no 5xx, nothing cut short), and the server exits 0.
TEST_F(ServeTest, SigtermWhileBusyFinishesAndExitsZero) {
  const std::vector<json> expected = cli({"embed", "-m", models_->embed.string()}, kTexts);
  ServeProcess server(models_->embed, {"--threads", "2"});
  ASSERT_TRUE(server.started());
  std::atomic<bool> signalled{false};
  std::atomic<int> ok{0}, bad{0}, refused_after{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      for (int r = 0; r < 100000; ++r) {
        const auto result =
            server.client(30)->Post("/embed", json({{"inputs", kTexts}}).dump(), "application/json");
        if (!result) {  // the listener is closed: the end
          if (signalled) {
            ++refused_after;
          } else {
            ++bad;
          }
          return;
        }
        const json rows = result->status == 200 ? json::parse(result->body) : json();
        bool same = result->status == 200 && rows.size() == kTexts.size();
        for (size_t i = 0; same && i < rows.size(); ++i)
          same = max_abs_diff(rows[i], expected[i]["embedding"]) < 1e-5f;
        (same ? ok : bad)++;
      }
    });
  while (ok < 50 && bad == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  signalled = true;
  const CliResult ended = server.terminate_and_wait(SIGTERM);
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ended.exit_code, 0) << ended;
  EXPECT_NE(ended.err.find("SIGTERM"), std::string::npos) << ended.err;
  EXPECT_NE(ended.err.find("stopped"), std::string::npos) << ended.err;
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(refused_after.load(), 8) << "every client ended on a refused connection";
}

}  // namespace
}  // namespace qp::test
