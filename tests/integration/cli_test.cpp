// Integration tests of the quantpipe command line. Each test runs the built
// binary (build/bin/quantpipe, or the sanitizer build's when the tests are built
// there) as a child process on tiny generated models, then checks the exit
// code, the JSONL on stdout, and that every bad input ends in exactly one clear
// error line on stderr.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/io_test_util.h"
#include "../unit/test_paths.h"
#include "cli_runner.h"
#include "core/build_info.h"
#include "models/tiny_model.h"
#include "tiny_models_fixture.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using test::CliResult;
using test::contains;
using test::error_lines;
using test::expect_clean_failure;
using test::parse_jsonl;
using test::run_cli;
using test::split_lines;

std::vector<std::vector<float>> column(const std::vector<json>& rows, const std::string& key) {
  std::vector<std::vector<float>> values;
  for (const json& row : rows) values.push_back(row.at(key).get<std::vector<float>>());
  return values;
}

float max_abs_diff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].size(), b[i].size()) << "row " << i;
    for (size_t j = 0; j < std::min(a[i].size(), b[i].size()); ++j)
      worst = std::max(worst, std::fabs(a[i][j] - b[i][j]));
  }
  return worst;
}

std::string repeat_words(int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += i == 0 ? "the" : " the";
  return text;
}

// ---------------------------------------------------------------------------
// Version and help

TEST(CliInfo, VersionNamesVersionCommitAndIsa) {
  const CliResult r = run_cli({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, std::string("quantpipe ") + kVersion)) << r.out;
  EXPECT_TRUE(contains(r.out, std::string("commit ") + kGitCommit)) << r.out;
  EXPECT_TRUE(contains(r.out, "ISA path")) << r.out;
}

TEST(CliInfo, TopLevelHelpListsSubcommands) {
  const CliResult r = run_cli({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const char* part :
       {"--version", "--verbose", "tokenize", "embed", "classify", "rerank", "serve", "bench", "demo"})
    EXPECT_TRUE(contains(r.out, part)) << part << " not in:\n" << r.out;
}

struct HelpCase {
  std::string subcommand;
  std::vector<std::string> options;
};

class CliSubcommandHelp : public ::testing::TestWithParam<HelpCase> {};

TEST_P(CliSubcommandHelp, ExitsZeroAndListsOptions) {
  const CliResult r = run_cli({GetParam().subcommand, "--help"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const std::string& option : GetParam().options)
    EXPECT_TRUE(contains(r.out, option)) << option << " not in:\n" << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Subcommands, CliSubcommandHelp,
    ::testing::Values(
        HelpCase{"tokenize", {"--model", "--input", "--max-length"}},
        HelpCase{
            "embed",
            {"--model", "--input", "--threads", "--batch-size", "--max-length", "--pooling", "--normalize"}},
        HelpCase{"classify", {"--model", "--input", "--threads", "--batch-size", "--max-length"}},
        HelpCase{"rerank", {"--model", "--input", "--query", "--threads", "--batch-size", "--max-length"}},
        HelpCase{"bench",
                 {"--model", "--input", "--threads", "--batch-size", "--runs", "--warmup", "--json"}},
        HelpCase{"demo", {"--threads"}},
        HelpCase{"serve",
                 {"--model", "--host", "--port", "--max-batch-tokens", "--max-queue", "--threads",
                  "--api-key", "--max-client-batch-size", "--max-input-length", "--auto-truncate",
                  "--max-body-bytes", "--cors-allow-origin", "--access-log", "--read-timeout"}}),
    [](const auto& info) { return info.param.subcommand; });

TEST(CliInfo, UnknownOptionIsRefused) {
  const CliResult r = run_cli({"embed", "--no-such-option"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(r.term_signal, 0) << r;
}

TEST(CliInfo, OutOfRangeOptionSaysTheBound) {
  const CliResult r = run_cli({"embed", "--model", "m", "--batch-size", "0"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_TRUE(contains(r.err, "--batch-size: must be at least 1, got 0")) << r;
}

// ---------------------------------------------------------------------------
// Happy paths on tiny generated models

constexpr int kHidden = TinyBertSpec{}.hidden;
constexpr int kMaxPositions = TinyBertSpec{}.max_positions;
constexpr int kLabels = test::kTinyLabels;

class Cli : public test::TinyModelsTest {
 protected:
  // A private copy of the classification model that a test may damage.
  fs::path model_copy() const {
    const fs::path copy = tmp_.path() / "model";
    fs::copy(classify_model(), copy, fs::copy_options::recursive);
    return copy;
  }

  CliResult embed(const fs::path& input, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"embed", "--model", embed_model().string(), "--input", input.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
};

const char* const kTexts =
    "the cat sat on the mat\n"
    "hello world\n"
    "a much longer line with many more words in it than the others have\n"
    "x\n";

TEST_F(Cli, EmbedGivesOneLinePerInputInOrder) {
  const fs::path input = write_file("in.txt", kTexts);
  const CliResult all = embed(input, {"--threads", "1"});
  ASSERT_EQ(all.exit_code, 0) << all;
  const std::vector<json> rows = parse_jsonl(all.out);
  ASSERT_EQ(rows.size(), 4u) << all;
  for (const json& row : rows) {
    ASSERT_TRUE(row.contains("embedding")) << row;
    const auto v = row["embedding"].get<std::vector<float>>();
    ASSERT_EQ(v.size(), static_cast<size_t>(kHidden));
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << "sentence-transformers Normalize";
  }
  // Row i is line i: embed each line alone and compare.
  const std::vector<std::string> texts = split_lines(kTexts);
  for (size_t i = 0; i < texts.size(); ++i) {
    const CliResult one = embed(write_file("one.txt", texts[i] + "\n"), {"--threads", "1"});
    ASSERT_EQ(one.exit_code, 0) << one;
    EXPECT_LT(max_abs_diff(column(parse_jsonl(one.out), "embedding"), {column(rows, "embedding")[i]}), 1e-5f)
        << "line " << i + 1;
  }
}

TEST_F(Cli, EmbedReadsStandardInput) {
  const fs::path input = write_file("in.txt", kTexts);
  const CliResult from_file = embed(input, {"--threads", "1"});
  const CliResult from_stdin = run_cli({"embed", "-m", embed_model().string(), "-t", "1"}, input);
  ASSERT_EQ(from_file.exit_code, 0) << from_file;
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin;
  EXPECT_EQ(from_stdin.out, from_file.out);
}

TEST_F(Cli, ClassifyGivesLabelScoresAndLogits) {
  const fs::path input = write_file("in.jsonl",
                                    "{\"text\": \"the cat sat\", \"text_pair\": \"on the mat\"}\n"
                                    "{\"text\": \"a line of text\", \"text_pair\": null}\n"
                                    "{\"text\": \"only a text\"}\n");
  const CliResult r = run_cli({"classify", "--model", classify_model().string(), "--input", input.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<json> rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 3u) << r;
  for (const json& row : rows) {
    // "scores": every label with its softmax score, highest first (transformers' pipeline, TEI).
    const json& scores = row.at("scores");
    const auto logits = row.at("logits").get<std::vector<float>>();
    ASSERT_EQ(scores.size(), static_cast<size_t>(kLabels)) << row;
    ASSERT_EQ(logits.size(), static_cast<size_t>(kLabels));
    double sum = 0, exp_sum = 0;
    for (float l : logits) exp_sum += std::exp(static_cast<double>(l));
    std::vector<bool> seen(kLabels, false);
    for (size_t i = 0; i < scores.size(); ++i) {
      const std::string label = scores[i].at("label").get<std::string>();
      const float score = scores[i].at("score").get<float>();
      const int index = std::stoi(label.substr(label.rfind('_') + 1));
      ASSERT_TRUE(index >= 0 && index < kLabels && !seen[index]) << row;
      seen[index] = true;
      EXPECT_NEAR(score, std::exp(static_cast<double>(logits[index])) / exp_sum, 1e-5) << label;
      if (i > 0) {
        EXPECT_GE(scores[i - 1].at("score").get<float>(), score) << "sorted, highest first";
      }
      sum += score;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    const size_t best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    EXPECT_EQ(row.at("label").get<std::string>(), "LABEL_" + std::to_string(best));
    EXPECT_EQ(scores[0].at("label"), row.at("label"));
  }
  // The pair is read as a pair: the same text without it classifies differently.
  const CliResult unpaired = run_cli(
      {"classify", "-m", classify_model().string(), "-i", write_file("one.txt", "the cat sat\n").string()});
  ASSERT_EQ(unpaired.exit_code, 0) << unpaired;
  EXPECT_GT(max_abs_diff(column(parse_jsonl(unpaired.out), "logits"), {column(rows, "logits")[0]}), 1e-6f);
}

TEST_F(Cli, TokenizeGivesIdsAndPairTypeIds) {
  const fs::path input = write_file("in.jsonl",
                                    "{\"text\": \"the cat\", \"text_pair\": \"a dog\"}\n"
                                    "{\"text\": \"the cat\"}\n");
  const CliResult r = run_cli({"tokenize", "--model", embed_model().string(), "--input", input.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<json> rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 2u) << r;
  constexpr int kCls = 2, kSep = 3;
  const auto pair_ids = rows[0].at("input_ids").get<std::vector<int>>();
  const auto pair_types = rows[0].at("token_type_ids").get<std::vector<int>>();
  ASSERT_EQ(pair_ids.size(), pair_types.size());
  ASSERT_GE(pair_ids.size(), 5u);
  EXPECT_EQ(pair_ids.front(), kCls);
  EXPECT_EQ(pair_ids.back(), kSep);
  const size_t first_sep = std::find(pair_ids.begin(), pair_ids.end(), kSep) - pair_ids.begin();
  ASSERT_LT(first_sep, pair_ids.size() - 1) << "two segments expected";
  for (size_t i = 0; i < pair_types.size(); ++i)
    EXPECT_EQ(pair_types[i], i <= first_sep ? 0 : 1) << "token " << i;

  const auto single_ids = rows[1].at("input_ids").get<std::vector<int>>();
  const auto single_types = rows[1].at("token_type_ids").get<std::vector<int>>();
  EXPECT_EQ(single_ids, std::vector<int>(pair_ids.begin(), pair_ids.begin() + first_sep + 1));
  EXPECT_EQ(single_types, std::vector<int>(single_ids.size(), 0));
}

TEST_F(Cli, ThreadCountDoesNotChangeEmbeddings) {
  const fs::path input = write_file("in.txt", kTexts);
  const CliResult one = embed(input, {"--threads", "1"});
  const CliResult two = embed(input, {"--threads", "2"});
  ASSERT_EQ(one.exit_code, 0) << one;
  ASSERT_EQ(two.exit_code, 0) << two;
  EXPECT_LE(
      max_abs_diff(column(parse_jsonl(one.out), "embedding"), column(parse_jsonl(two.out), "embedding")),
      1e-6f);
}

TEST_F(Cli, BatchSizeDoesNotChangeOutputs) {
  const fs::path input = write_file("in.txt", kTexts);
  const CliResult embed1 = embed(input, {"--batch-size", "1"});
  const CliResult embed32 = embed(input, {"--batch-size", "32"});
  ASSERT_EQ(embed1.exit_code, 0) << embed1;
  ASSERT_EQ(embed32.exit_code, 0) << embed32;
  EXPECT_LT(max_abs_diff(column(parse_jsonl(embed1.out), "embedding"),
                         column(parse_jsonl(embed32.out), "embedding")),
            1e-5f);

  const std::string model = classify_model().string();
  const CliResult classify1 = run_cli({"classify", "-m", model, "-i", input.string(), "-b", "1"});
  const CliResult classify32 = run_cli({"classify", "-m", model, "-i", input.string(), "-b", "32"});
  ASSERT_EQ(classify1.exit_code, 0) << classify1;
  ASSERT_EQ(classify32.exit_code, 0) << classify32;
  EXPECT_LT(max_abs_diff(column(parse_jsonl(classify1.out), "logits"),
                         column(parse_jsonl(classify32.out), "logits")),
            1e-5f);
}

TEST_F(Cli, MaxLengthTruncates) {
  const fs::path input = write_file("long.txt", repeat_words(30) + "\n");
  const CliResult tokens =
      run_cli({"tokenize", "-m", embed_model().string(), "-i", input.string(), "--max-length", "8"});
  ASSERT_EQ(tokens.exit_code, 0) << tokens;
  const auto ids = parse_jsonl(tokens.out).at(0).at("input_ids").get<std::vector<int>>();
  ASSERT_EQ(ids.size(), 8u);
  EXPECT_EQ(ids.back(), 3) << "[SEP] kept at the end";

  // Embedding the truncated text equals embedding its first 6 words.
  const CliResult truncated = embed(input, {"--max-length", "8"});
  const CliResult short_text = embed(write_file("short.txt", repeat_words(6) + "\n"));
  ASSERT_EQ(truncated.exit_code, 0) << truncated;
  ASSERT_EQ(short_text.exit_code, 0) << short_text;
  EXPECT_LT(max_abs_diff(column(parse_jsonl(truncated.out), "embedding"),
                         column(parse_jsonl(short_text.out), "embedding")),
            1e-6f);
}

TEST_F(Cli, LongInputIsTruncatedToModelPositionsByDefault) {
  const CliResult r = embed(write_file("long.txt", repeat_words(3 * kMaxPositions) + "\n"));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(parse_jsonl(r.out).size(), 1u);
}

// ---------------------------------------------------------------------------
// Bad input: one clear line, exit code 1

TEST_F(Cli, TruncatedSafetensorsIsRefused) {
  const fs::path model = model_copy();
  const fs::path weights = model / "model.safetensors";
  const std::string bytes = test::read_bytes(weights);
  test::write_bytes(weights, bytes.substr(0, bytes.size() / 2));
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {weights.string(), "but the data section has"});
}

TEST_F(Cli, CorruptSafetensorsHeaderIsRefused) {
  const fs::path model = model_copy();
  const fs::path weights = model / "model.safetensors";
  std::string bytes = test::read_bytes(weights);
  for (size_t i = 8; i < 40; ++i) bytes[i] = static_cast<char>(0xA5 ^ i);
  test::write_bytes(weights, bytes);
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {weights.string(), "header: invalid JSON at byte"});
}

TEST_F(Cli, DataOffsetsOutsideTheFileAreRefused) {
  const fs::path model = model_copy();
  const fs::path weights = model / "model.safetensors";
  test::write_raw_safetensors(weights, R"({"w": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}})",
                              std::string(16, '\0'));
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {weights.string(), "'w' ends at byte 256 but the data section has 16 bytes"});
}

TEST_F(Cli, OverlappingTensorsAreRefused) {
  const fs::path model = model_copy();
  const fs::path weights = model / "model.safetensors";
  test::write_raw_safetensors(weights,
                              R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                              R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                              std::string(24, '\0'));
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {weights.string(), "'a'", "'b'", "overlap"});
}

TEST_F(Cli, ConfigMissingKeyIsNamed) {
  const fs::path model = model_copy();
  const fs::path config_path = model / "config.json";
  json config = json::parse(test::read_bytes(config_path));
  config.erase("hidden_size");
  test::write_bytes(config_path, config.dump(2));
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {config_path.string(), "'hidden_size'"});
}

TEST_F(Cli, ConfigInvalidJsonIsRefused) {
  const fs::path model = model_copy();
  const fs::path config_path = model / "config.json";
  test::write_bytes(config_path, "{\"model_type\": \"bert\", \"hidden_size\": 32,");
  expect_clean_failure(run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
                       {config_path.string(), "invalid JSON"});
}

TEST_F(Cli, UnknownModelTypeListsSupportedOnes) {
  const fs::path model = model_copy();
  const fs::path config_path = model / "config.json";
  json config = json::parse(test::read_bytes(config_path));
  config["model_type"] = "gpt2";
  test::write_bytes(config_path, config.dump(2));
  expect_clean_failure(
      run_cli({"embed", "-m", model.string(), "-i", write_file("in.txt", "hi\n").string()}),
      {config_path.string(), "model_type \"gpt2\" is not supported", "bert", "distilbert", "roberta"});
}

TEST_F(Cli, MissingModelDirectoryIsNamed) {
  const fs::path missing = tmp_.path() / "no-such-model";
  expect_clean_failure(
      run_cli({"embed", "-m", missing.string(), "-i", write_file("in.txt", "hi\n").string()}),
      {missing.string(), "model directory not found"});
}

TEST_F(Cli, EmptyInputFileIsRefused) {
  const fs::path input = write_file("empty.txt", "");
  expect_clean_failure(embed(input), {input.string(), "no input lines"});
}

TEST_F(Cli, InvalidUtf8NamesFileAndLine) {
  const fs::path input = write_file("bad.txt", "fine\nbroken \xff\xfe here\n");
  expect_clean_failure(embed(input), {input.string() + ":2:", "not valid UTF-8"});
}

TEST_F(Cli, MissingInputFileIsNamed) {
  const fs::path input = tmp_.path() / "absent.txt";
  expect_clean_failure(embed(input), {input.string(), "cannot open"});
}

TEST_F(Cli, ClassifyWithoutClassifierHeadIsRefused) {
  const fs::path input = write_file("in.txt", "hi\n");
  expect_clean_failure(run_cli({"classify", "-m", embed_model().string(), "-i", input.string()}),
                       {embed_model().string(), "no classification head", "use embed"});
}

TEST_F(Cli, MaxLengthBeyondModelPositionsIsRefused) {
  const fs::path input = write_file("long.txt", repeat_words(2 * kMaxPositions) + "\n");
  const std::string too_long = std::to_string(2 * kMaxPositions);
  expect_clean_failure(
      embed(input, {"--max-length", too_long}),
      {"--max-length " + too_long, std::to_string(kMaxPositions), "max_position_embeddings"});
}

// ---------------------------------------------------------------------------
// The real model in ../shared, through the command line

TEST(CliShared, EmbedMatchesReferenceEmbedding) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  const fs::path dir = test::shared_dir() / "models" / "minilm-l6-sts";
  const json reference = json::parse(test::read_bytes(dir / "reference_outputs.json"));
  const json& probe = reference.at("probes").at(0);
  const test::TempDir tmp;
  const fs::path input = tmp.path() / "probe.txt";
  test::write_bytes(input, probe.at("text").get<std::string>() + "\n");
  const CliResult r = run_cli({"embed", "-m", dir.string(), "-i", input.string(), "--max-length",
                               std::to_string(reference.at("max_length").get<int>())});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<json> rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_LT(max_abs_diff(column(rows, "embedding"), {probe.at("embedding").get<std::vector<float>>()}),
            1e-4f);
}

}  // namespace
}  // namespace qp
