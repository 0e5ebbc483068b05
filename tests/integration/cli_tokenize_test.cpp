// `quantpipe tokenize --tokens` on every tokenizer directory of ../shared: the
// ids and token strings the slow Hugging Face tokenizers give
// (../shared/oracle/tokenizers), and one error line for a bad tokenizer file.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../unit/test_paths.h"
#include "../unit/tokenizer_golden_texts.h"
#include "cli_runner.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(CliTokenize, TokensOfEverySharedTokenizerMatchTheOracle) {
  QP_REQUIRE_SHARED("oracle/tokenizers");
  QP_REQUIRE_SHARED("tokenizers");
  size_t dirs = 0;
  for (const auto& entry : fs::directory_iterator(test::shared_dir() / "oracle" / "tokenizers")) {
    const std::string name = entry.path().stem().string();
    const fs::path dir = test::shared_dir() / "tokenizers" / name;
    if (!fs::exists(dir)) continue;
    std::vector<json> oracle;
    test::TempDir tmp;
    const fs::path input = tmp.path() / "in.jsonl";
    {
      std::ofstream out(input);
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        oracle.push_back(json::parse(line));
        json row = {{"text", oracle.back().at("text")}};
        if (oracle.back().contains("text_pair")) row["text_pair"] = oracle.back().at("text_pair");
        out << row.dump() << "\n";
      }
    }
    const test::CliResult r =
        test::run_cli({"tokenize", "-m", dir.string(), "--tokens", "-i", input.string()});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r;
    const auto lines = test::split_lines(r.out);
    ASSERT_EQ(lines.size(), oracle.size()) << name;
    for (size_t i = 0; i < lines.size(); ++i) {
      const json got = json::parse(lines[i]);
      if (test::transformers5_differs_from_slow(name, oracle[i].at("text"))) {
        EXPECT_NE(got.at("input_ids"), oracle[i].at("input_ids"));
        continue;
      }
      EXPECT_EQ(got.at("input_ids"), oracle[i].at("input_ids")) << name << ": " << oracle[i].at("text");
      ASSERT_TRUE(got.contains("tokens")) << lines[i];
      EXPECT_EQ(got.at("tokens").size(), got.at("input_ids").size());
      if (oracle[i].contains("tokens")) {
        EXPECT_EQ(got.at("tokens"), oracle[i].at("tokens")) << name << ": " << oracle[i].at("text");
      }
    }
    ++dirs;
  }
  EXPECT_GE(dirs, 8u);
}

TEST(CliTokenize, BadTokenizerFileIsOneErrorLine) {
  test::TempDir tmp;
  const fs::path file = tmp.path() / "tokenizer.json";
  std::ofstream(file) << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]}})";
  const fs::path input = tmp.path() / "in.txt";
  std::ofstream(input) << "a\n";
  const test::CliResult r = test::run_cli({"tokenize", "-m", tmp.path().string(), "-i", input.string()});
  EXPECT_NE(r.exit_code, 0) << r;
  const auto lines = test::error_lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r;
  EXPECT_NE(lines[0].find(file.string()), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("'q', which is not in the vocabulary"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace qp
