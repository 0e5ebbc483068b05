// Integration tests of the inputs and outputs the ecosystem expects (issue
// 11, item 4): JSONL input to embed, sentence-transformers' max_seq_length,
// classify's labelled scores and one-logit sigmoid, the rerank subcommand,
// the progress line only on a terminal, and usage errors with exit status 2.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../unit/io_test_util.h"
#include "../unit/test_paths.h"
#include "cli_runner.h"
#include "models/tiny_model.h"
#include "tiny_models_fixture.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::CliResult;
using test::contains;
using test::parse_jsonl;
using test::run_cli;
using test::split_lines;

std::vector<float> embedding(const CliResult& r, size_t row = 0) {
  return parse_jsonl(r.out).at(row).at("embedding").get<std::vector<float>>();
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// `tokens` word pieces: words of the tiny vocabulary (src/models/tiny_model.cpp) are one each.
std::string text_of_tokens(int tokens) {
  static const char* const kWords[] = {"the", "man", "work"};
  std::string text;
  for (int i = 0; i < tokens; ++i) text += std::string(i == 0 ? "" : " ") + kWords[i % 3];
  return text;
}

void edit_json_file(const fs::path& file, const std::function<void(json&)>& edit) {
  json doc;
  std::ifstream(file) >> doc;
  edit(doc);
  std::ofstream(file) << doc.dump(2);
}

class CliEcosystem : public test::TinyModelsTest {
 protected:
  static void SetUpTestSuite() {
    TinyModelsTest::SetUpTestSuite();
    write_tiny_bert(reranker(), {.num_labels = 1, .seed = 77});
    // all-MiniLM-L6-v2's case: the tokenizer says 128, sentence_bert_config.json 256.
    write_tiny_bert(long_model(), {.max_positions = 300, .sentence_transformer = true});
    edit_json_file(long_model() / "tokenizer_config.json", [](json& c) { c["model_max_length"] = 128; });
    edit_json_file(long_model() / "sentence_bert_config.json", [](json& c) { c["max_seq_length"] = 256; });
  }

  static fs::path reranker() { return models_dir() / "reranker"; }
  static fs::path long_model() { return models_dir() / "long"; }
};

// ---------------------------------------------------------------------------
// embed reads JSONL

TEST_F(CliEcosystem, EmbedJsonlEmbedsTheTextNotTheJson) {
  const std::string text = "the cat sat on the mat";
  const std::string line = json{{"text", text}}.dump();
  const CliResult jsonl =
      run_cli({"embed", "-m", embed_model().string(), "-i", write_file("in.jsonl", line + "\n").string()});
  const CliResult plain =
      run_cli({"embed", "-m", embed_model().string(), "-i", write_file("in.txt", text + "\n").string()});
  // After a plain first line the input is plain text: the JSON line is embedded as it stands.
  const CliResult as_text = run_cli({"embed", "-m", embed_model().string(), "-i",
                                     write_file("mixed.txt", "hello\n" + line + "\n").string()});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl;
  ASSERT_EQ(plain.exit_code, 0) << plain;
  ASSERT_EQ(as_text.exit_code, 0) << as_text;
  EXPECT_EQ(jsonl.out, plain.out) << "the \"text\" field is embedded";
  EXPECT_GT(max_abs_diff(embedding(jsonl), embedding(as_text, 1)), 1e-4f) << "not the JSON text";
}

// ---------------------------------------------------------------------------
// sentence-transformers' max_seq_length

TEST_F(CliEcosystem, EmbedTruncatesAtSentenceBertMaxSeqLength) {
  const fs::path input = write_file("long.txt", text_of_tokens(200) + "\n");
  const std::string model = long_model().string();
  // tokenize cuts where embed does.
  const CliResult tokens = run_cli({"tokenize", "-m", model, "-i", input.string()});
  ASSERT_EQ(tokens.exit_code, 0) << tokens;
  const size_t count = parse_jsonl(tokens.out).at(0).at("input_ids").size();
  ASSERT_GT(count, 128u);
  ASSERT_LT(count, 256u);
  const CliResult by_default = run_cli({"embed", "-m", model, "-i", input.string()});
  const CliResult at_128 = run_cli({"embed", "-m", model, "-i", input.string(), "--max-length", "128"});
  const CliResult at_256 = run_cli({"embed", "-m", model, "-i", input.string(), "--max-length", "256"});
  ASSERT_EQ(by_default.exit_code, 0) << by_default;
  EXPECT_EQ(by_default.out, at_256.out) << "max_seq_length 256, not the tokenizer's 128";
  EXPECT_GT(max_abs_diff(embedding(by_default), embedding(at_128)), 1e-5f);
}

// The real model: all-MiniLM-L6-v2's shape and files, max_seq_length 256.
TEST_F(CliEcosystem, SharedStsModelTruncatesAt256) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts/sentence_bert_config.json");
  const std::string model = (test::shared_dir() / "models/minilm-l6-sts").string();
  std::string text;
  for (int i = 0; i < 40; ++i) text += "A man is playing a large guitar on the stage. ";  // ~440 tokens
  const fs::path input = write_file("long.txt", text + "\n");
  const CliResult by_default = run_cli({"embed", "-m", model, "-i", input.string(), "-t", "2"});
  const CliResult at_128 =
      run_cli({"embed", "-m", model, "-i", input.string(), "-t", "2", "--max-length", "128"});
  const CliResult at_256 =
      run_cli({"embed", "-m", model, "-i", input.string(), "-t", "2", "--max-length", "256"});
  ASSERT_EQ(by_default.exit_code, 0) << by_default;
  EXPECT_LT(max_abs_diff(embedding(by_default), embedding(at_256)), 1e-6f);
  EXPECT_GT(max_abs_diff(embedding(by_default), embedding(at_128)), 1e-4f);
}

// ---------------------------------------------------------------------------
// classify: one logit is a sigmoid

TEST_F(CliEcosystem, OneLogitHeadGetsASigmoidScore) {
  const fs::path input = write_file("in.txt", "the cat sat\na dog ran in the park\n");
  const CliResult r = run_cli({"classify", "-m", reranker().string(), "-i", input.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<json> rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 2u);
  for (const json& row : rows) {
    ASSERT_EQ(row.at("scores").size(), 1u) << row;
    const float logit = row.at("logits").at(0).get<float>();
    const float score = row.at("scores").at(0).at("score").get<float>();
    EXPECT_EQ(row.at("scores").at(0).at("label"), "LABEL_0");
    EXPECT_NEAR(score, 1.0 / (1.0 + std::exp(-static_cast<double>(logit))), 1e-6) << row;
    EXPECT_LT(score, 0.999f) << "a softmax of one logit is always 1.0";
  }
}

// ---------------------------------------------------------------------------
// rerank

struct Ranked {
  size_t index;
  float score;
  std::string text;
};

std::vector<Ranked> read_ranking(const json& row) {
  std::vector<Ranked> ranking;
  for (const json& item : row) {
    EXPECT_EQ(item.size(), 3u) << item;  // index, score, text
    ranking.push_back({item.at("index").get<size_t>(), item.at("score").get<float>(), item.at("text")});
  }
  return ranking;
}

const std::vector<std::string> kPassages = {"the cat sat on the mat", "a dog ran in the park",
                                            "we went to the city", "the man is playing a game",
                                            "it is a good day"};

TEST_F(CliEcosystem, RerankSortsPassagesByTheirClassifyScore) {
  const std::vector<std::string> queries = {"where is the cat", "a good game"};
  std::string rerank_input, pairs_input;
  for (const std::string& q : queries) {
    rerank_input += json{{"query", q}, {"passages", kPassages}}.dump() + "\n";
    for (const std::string& p : kPassages) pairs_input += json{{"text", q}, {"text_pair", p}}.dump() + "\n";
  }
  const CliResult ranked = run_cli(
      {"rerank", "-m", reranker().string(), "-i", write_file("q.jsonl", rerank_input).string(), "-b", "2"});
  const CliResult classified =
      run_cli({"classify", "-m", reranker().string(), "-i", write_file("pairs.jsonl", pairs_input).string()});
  ASSERT_EQ(ranked.exit_code, 0) << ranked;
  ASSERT_EQ(classified.exit_code, 0) << classified;
  const std::vector<json> rows = parse_jsonl(ranked.out);
  const std::vector<json> scores = parse_jsonl(classified.out);
  ASSERT_EQ(rows.size(), queries.size()) << ranked;
  for (size_t q = 0; q < queries.size(); ++q) {
    const std::vector<Ranked> ranking = read_ranking(rows[q]);
    ASSERT_EQ(ranking.size(), kPassages.size());
    std::vector<bool> seen(kPassages.size(), false);
    for (size_t i = 0; i < ranking.size(); ++i) {
      const Ranked& r = ranking[i];
      ASSERT_LT(r.index, kPassages.size());
      EXPECT_FALSE(seen[r.index]) << "index " << r.index << " twice";
      seen[r.index] = true;
      EXPECT_EQ(r.text, kPassages[r.index]);
      const float expected =
          scores[q * kPassages.size() + r.index].at("scores").at(0).at("score").get<float>();
      EXPECT_NEAR(r.score, expected, 1e-6) << "query " << q << ", passage " << r.index;
      if (i > 0) {
        EXPECT_GE(ranking[i - 1].score, r.score) << "sorted, highest first";
      }
    }
  }
  // The scores differ, so the order is a real one.
  const std::vector<Ranked> first = read_ranking(rows[0]);
  EXPECT_GT(first.front().score, first.back().score);
}

TEST_F(CliEcosystem, RerankWithQueryReadsPassagesOnePerLine) {
  std::string lines;
  for (const std::string& p : kPassages) lines += p + "\n";
  const std::string query = "where is the cat";
  const CliResult plain = run_cli(
      {"rerank", "-m", reranker().string(), "--query", query, "-i", write_file("p.txt", lines).string()});
  const CliResult from_stdin =
      run_cli({"rerank", "-m", reranker().string(), "--query", query}, write_file("p2.txt", lines));
  const CliResult jsonl = run_cli(
      {"rerank", "-m", reranker().string(), "-i",
       write_file("q.jsonl", json{{"query", query}, {"passages", kPassages}}.dump() + "\n").string()});
  ASSERT_EQ(plain.exit_code, 0) << plain;
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl;
  EXPECT_EQ(split_lines(plain.out).size(), 1u);
  EXPECT_EQ(plain.out, jsonl.out);
  EXPECT_EQ(from_stdin.out, plain.out);
}

TEST_F(CliEcosystem, RerankRefusesAMultiLabelHead) {
  const fs::path input = write_file("q.jsonl", json{{"query", "q"}, {"passages", kPassages}}.dump() + "\n");
  test::expect_clean_failure(run_cli({"rerank", "-m", classify_model().string(), "-i", input.string()}),
                             {(classify_model() / "config.json").string(), "3 labels", "num_labels 1"});
  test::expect_clean_failure(run_cli({"rerank", "-m", embed_model().string(), "-i", input.string()}),
                             {embed_model().string(), "no classification head"});
}

TEST_F(CliEcosystem, RerankBadLinesNameFileLineAndKey) {
  const std::string good = json{{"query", "q"}, {"passages", {"a"}}}.dump() + "\n";
  struct Case {
    std::string line, message;
  };
  for (const Case& c : std::vector<Case>{{R"({"query": "q"})", "key 'passages'"},
                                         {R"({"query": "q", "passages": []})", "is empty"},
                                         {R"({"query": 3, "passages": ["a"]})", "key 'query'"},
                                         {R"({"query": "q", "passages": ["a", 2]})", "passages[1]"},
                                         {R"(["q"])", "expected a JSON object"},
                                         {"not json", "q.jsonl:2"}}) {
    const fs::path input = write_file("q.jsonl", good + c.line + "\n");
    const CliResult r = run_cli({"rerank", "-m", reranker().string(), "-i", input.string()});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(split_lines(r.out).size(), 1u) << "the good line before it was written: " << r;
    const std::vector<std::string> errors = test::error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r;
    EXPECT_TRUE(contains(errors[0], input.string() + ":2")) << errors[0];
    EXPECT_TRUE(contains(errors[0], c.message)) << errors[0];
  }
}

// ---------------------------------------------------------------------------
// Progress line: on a terminal only

TEST_F(CliEcosystem, NoProgressLineWhenStderrIsNotATerminal) {
  std::string many;
  for (int i = 0; i < 300; ++i) many += "line " + std::to_string(i) + " of the input\n";
  const fs::path input = write_file("many.txt", many);
  for (const std::string command : {"embed", "classify"}) {
    const fs::path model = command == "embed" ? embed_model() : classify_model();
    const CliResult r = run_cli({command, "-m", model.string(), "-i", input.string(), "-b", "4"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(split_lines(r.out).size(), 300u);
    EXPECT_FALSE(contains(r.err, "\r")) << r;
    EXPECT_FALSE(contains(r.err, "[" + command + "]")) << r;
  }
}

// On a terminal (script(1) gives the command one) the line is drawn and cleared.
TEST_F(CliEcosystem, ProgressLineOnATerminal) {
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "script(1) is not installed";
  std::string many;
  for (int i = 0; i < 50; ++i) many += "line " + std::to_string(i) + "\n";
  const fs::path input = write_file("many.txt", many), out = tmp_.path() / "out.jsonl",
                 typescript = tmp_.path() / "typescript";
  const std::string command = "'" + test::quantpipe_binary().string() + "' embed -q -m '" +
                              embed_model().string() + "' -i '" + input.string() + "' -b 4 > '" +
                              out.string() + "'";
  const CliResult r = test::run_program({"/usr/bin/script", "-q", "-e", "-c", command, typescript.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(split_lines(test::read_bytes(out)).size(), 50u);
  const std::string terminal = test::read_bytes(typescript);
  EXPECT_TRUE(contains(terminal, "\r[embed] ")) << terminal;
  EXPECT_TRUE(contains(terminal, " texts, ")) << terminal;
  EXPECT_TRUE(contains(terminal, "\r\033[K")) << "cleared at the end: " << terminal;
}

// Results on the same terminal would land in the middle of the line: no progress there.
TEST_F(CliEcosystem, NoProgressLineWhenResultsGoToTheTerminal) {
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "script(1) is not installed";
  const fs::path input = write_file("few.txt", "one\ntwo\nthree\n"), typescript = tmp_.path() / "typescript";
  const std::string command = "'" + test::quantpipe_binary().string() + "' embed -q -m '" +
                              embed_model().string() + "' -i '" + input.string() + "' -b 1";
  const CliResult r = test::run_program({"/usr/bin/script", "-q", "-e", "-c", command, typescript.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string terminal = test::read_bytes(typescript);
  EXPECT_TRUE(contains(terminal, "{\"embedding\":")) << terminal;
  EXPECT_FALSE(contains(terminal, "[embed]")) << terminal;
}

// ---------------------------------------------------------------------------
// Usage errors, -q / -v after the subcommand, --pooling help

class CliUsageError : public ::testing::TestWithParam<test::UsageCase> {};

// CLI11 exits 105, 106, 109 by itself; a usage error is status 2.
TEST_P(CliUsageError, ExitsTwoWithCli11sMessage) { test::expect_usage_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    Cases, CliUsageError,
    ::testing::Values(
        test::UsageCase{"unknown_option", {"embed", "-m", "m", "--no-such-option"}, "--no-such-option"},
        test::UsageCase{"missing_required", {"embed"}, "--model is required"},
        test::UsageCase{"bad_choice",
                        {"embed", "-m", "m", "--pooling", "median"},
                        "--pooling: expected one of cls, mean, max, mean_sqrt_len, got 'median'"},
        test::UsageCase{"not_a_number", {"classify", "-m", "m", "--batch-size", "lots"}, "lots"},
        test::UsageCase{"unknown_subcommand", {"embedd"}, "embedd"},
        test::UsageCase{"two_subcommands", {"embed", "-m", "m", "classify"}, "classify"}),
    [](const auto& info) { return info.param.name; });

TEST(CliUsage, HelpStillExitsZero) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"embed", "--help"}, {"rerank", "-h"}, {"--version"}}) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r;
  }
}

TEST_F(CliEcosystem, QuietAndVerboseWorkAfterTheSubcommand) {
  const fs::path input = write_file("in.txt", "the cat sat\n");
  const std::string model = embed_model().string();
  const CliResult normal = run_cli({"embed", "-m", model, "-i", input.string()});
  const CliResult quiet_after = run_cli({"embed", "-q", "-m", model, "-i", input.string()});
  const CliResult quiet_end = run_cli({"embed", "-m", model, "-i", input.string(), "--quiet"});
  const CliResult quiet_before = run_cli({"-q", "embed", "-m", model, "-i", input.string()});
  const CliResult verbose_after = run_cli({"embed", "-m", model, "-v", "-i", input.string()});
  for (const CliResult* r : {&normal, &quiet_after, &quiet_end, &quiet_before, &verbose_after})
    ASSERT_EQ(r->exit_code, 0) << *r;
  EXPECT_TRUE(contains(normal.err, "[info]")) << normal;
  EXPECT_FALSE(contains(quiet_after.err, "[info]")) << quiet_after;
  EXPECT_FALSE(contains(quiet_end.err, "[info]")) << quiet_end;
  EXPECT_FALSE(contains(quiet_before.err, "[info]")) << quiet_before;
  EXPECT_TRUE(contains(verbose_after.err, "[debug]")) << verbose_after;
  EXPECT_EQ(quiet_after.out, normal.out);
}

TEST_F(CliEcosystem, PoolingChoicesChangeTheEmbedding) {
  const fs::path input = write_file("in.txt", "the man is at work\n");
  const std::string model = embed_model().string();
  const CliResult mean = run_cli({"embed", "-m", model, "-i", input.string()});
  const CliResult cls = run_cli({"embed", "-m", model, "-i", input.string(), "--pooling", "cls"});
  const CliResult upper = run_cli({"embed", "-m", model, "-i", input.string(), "--pooling", "CLS"});
  const CliResult max = run_cli({"embed", "-m", model, "-i", input.string(), "--pooling", "max"});
  for (const CliResult* r : {&mean, &cls, &upper, &max}) ASSERT_EQ(r->exit_code, 0) << *r;
  EXPECT_EQ(cls.out, upper.out);
  EXPECT_GT(max_abs_diff(embedding(mean), embedding(cls)), 1e-4f);
  EXPECT_GT(max_abs_diff(embedding(max), embedding(cls)), 1e-4f);
}

TEST(CliUsage, PoolingHelpNamesItsChoices) {
  const CliResult r = run_cli({"embed", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const size_t at = r.out.find("--pooling");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find("\n  -", at + 1) - at);
  for (const char* choice : {"cls", "mean", "max", "mean_sqrt_len"})
    EXPECT_TRUE(contains(line, choice)) << choice << " not in: " << line;
}

}  // namespace
}  // namespace qp
