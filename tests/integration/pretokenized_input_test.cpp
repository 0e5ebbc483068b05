// Issue 14: embed and classify take pre-tokenized JSONL lines
// {"input_ids", "token_type_ids", "attention_mask"} (what `tokenize` prints), so
// a model without tokenizer files — the oracle checkpoints of ../shared — runs
// from the command line, and its logits match transformers' on the same ids.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;

class PretokenizedInput : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(tmp_.path() / name) << text;
    return tmp_.path() / name;
  }
  TempDir tmp_;
};

TEST_F(PretokenizedInput, ClassifyOnTheOracleIdsGivesTransformersLogits) {
  QP_REQUIRE_SHARED("oracle/bert-tiny");
  const fs::path dir = shared_dir() / "oracle/bert-tiny";
  std::ifstream in(dir / "reference_outputs.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  std::string lines;
  for (size_t row = 0; row < ref["input_ids"].size(); ++row)
    lines += nlohmann::json({{"input_ids", ref["input_ids"][row]},
                             {"token_type_ids", ref["token_type_ids"][row]},
                             {"attention_mask", ref["attention_mask"][row]}})
                 .dump() +
             "\n";
  const CliResult r =
      run_cli({"classify", "-q", "-m", dir.string(), "-i", write("ids.jsonl", lines).string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> out = split_lines(r.out);
  ASSERT_EQ(out.size(), ref["logits"].size());
  for (size_t row = 0; row < out.size(); ++row) {
    const nlohmann::json result = nlohmann::json::parse(out[row]);
    for (size_t j = 0; j < ref["logits"][row].size(); ++j)
      EXPECT_NEAR(result["logits"][j].get<double>(), ref["logits"][row][j].get<double>(), 1e-4) << row;
  }
}

TEST_F(PretokenizedInput, EmbedTakesTheIdsTokenizePrints) {
  write_tiny_bert(tmp_.path() / "model", {.sentence_transformer = true});
  const fs::path texts = write("texts.txt", "the cat sat\nhello world\n");
  const CliResult ids = run_cli({"tokenize", "-m", (tmp_.path() / "model").string(), "-i", texts.string()});
  ASSERT_EQ(ids.exit_code, 0) << ids;
  const CliResult from_ids = run_cli(
      {"embed", "-q", "-m", (tmp_.path() / "model").string(), "-i", write("ids.jsonl", ids.out).string()});
  const CliResult from_text =
      run_cli({"embed", "-q", "-m", (tmp_.path() / "model").string(), "-i", texts.string()});
  ASSERT_EQ(from_ids.exit_code, 0) << from_ids;
  EXPECT_EQ(from_ids.out, from_text.out);
}

TEST_F(PretokenizedInput, TextForAModelWithoutTokenizerAndBadIdsAreClearErrors) {
  QP_REQUIRE_SHARED("oracle/bert-tiny");
  const std::string dir = (shared_dir() / "oracle/bert-tiny").string();
  expect_clean_failure(run_cli({"classify", "-m", dir, "-i", write("t.txt", "hello\n").string()}),
                       {"t.txt:1", "no tokenizer files", "input_ids"});
  expect_clean_failure(run_cli({"classify", "-m", dir, "-i",
                                write("a.jsonl", R"({"input_ids": [101, -3]})"
                                                 "\n")
                                    .string()}),
                       {"a.jsonl:1", "input_ids", "non-negative"});
  expect_clean_failure(run_cli({"classify", "-m", dir, "-i",
                                write("b.jsonl", R"({"input_ids": [101, 5], "token_type_ids": [0]})"
                                                 "\n")
                                    .string()}),
                       {"b.jsonl:1", "token_type_ids", "has 1 entries but \"input_ids\" has 2"});
  expect_clean_failure(run_cli({"classify", "-m", dir, "-i",
                                write("c.jsonl", R"({"input_ids": [101, 99999]})"
                                                 "\n")
                                    .string()}),
                       {"token id 99999", "vocabulary"});
  expect_clean_failure(run_cli({"classify", "-m", dir, "-i",
                                write("d.jsonl", R"({"input_ids": [1], "text": "x"})"
                                                 "\n")
                                    .string()}),
                       {"d.jsonl:1", "either"});
}

}  // namespace
}  // namespace qp::test
