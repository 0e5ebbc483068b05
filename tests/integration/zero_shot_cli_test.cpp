// Issue 15: `classify --zero-shot` against transformers' own
// zero-shot-classification pipeline (tests/golden/zero_shot/, made by
// make_golden.py there) on ../shared/models/minilm-l6-nli: the same labels in
// the same order and the same scores, single- and multi-label.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string join(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) out += (out.empty() ? "" : ",") + l;
  return out;
}

TEST(ZeroShotCli, MatchesTransformersPipeline) {
  QP_REQUIRE_SHARED("models/minilm-l6-nli");
  const std::string model = (shared_dir() / "models/minilm-l6-nli").string();
  std::ifstream in(source_dir() / "tests/golden/zero_shot/minilm-l6-nli.json");
  const json golden = json::parse(in);
  TempDir tmp;
  size_t compared = 0;
  for (const json& c : golden["cases"]) {
    std::ofstream(tmp.path() / "t.txt") << c["sequence"].get<std::string>() << "\n";
    std::vector<std::string> args = {"classify",
                                     "-q",
                                     "-m",
                                     model,
                                     "-i",
                                     (tmp.path() / "t.txt").string(),
                                     "--zero-shot",
                                     join(c["candidate_labels"]),
                                     "--hypothesis-template",
                                     c["hypothesis_template"]};
    if (c["multi_label"]) args.push_back("--multi-label");
    const CliResult r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r;
    const json got = json::parse(r.out);
    EXPECT_EQ(got["sequence"], c["sequence"]);
    EXPECT_EQ(got["labels"], c["labels"]) << c.dump();
    ASSERT_EQ(got["scores"].size(), c["scores"].size());
    for (size_t i = 0; i < c["scores"].size(); ++i)
      EXPECT_NEAR(got["scores"][i].get<double>(), c["scores"][i].get<double>(), 2e-5) << c.dump();
    ++compared;
  }
  EXPECT_EQ(compared, 16u);
}

TEST(ZeroShotCli, BadUseIsOneClearError) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  TempDir tmp;
  std::ofstream(tmp.path() / "t.txt") << "hello\n";
  const std::string text = (tmp.path() / "t.txt").string();
  const std::string nli = (shared_dir() / "models/minilm-l6-nli").string();
  expect_clean_failure(run_cli({"classify", "-m", nli, "-i", text, "--multi-label"}),
                       {"--multi-label", "--zero-shot"});
  expect_clean_failure(
      run_cli({"classify", "-m", nli, "-i", text, "--zero-shot", "a,b", "--hypothesis-template", "no slot"}),
      {"no slot", "{}"});
  expect_clean_failure(run_cli({"classify", "-m", nli, "-i", text, "--zero-shot", " , "}),
                       {"no candidate labels"});
  expect_clean_failure(run_cli({"classify", "-m", (shared_dir() / "models/minilm-l6-genre").string(), "-i",
                                text, "--zero-shot", "a,b"}),
                       {"entailment", "caption"});
}

}  // namespace
}  // namespace qp::test
