// Issue 15: `classify --zero-shot` on the tiny oracle NLI models of every
// architecture family (bart, bert, deberta-v2, distilbert, modernbert) against
// transformers' own zero-shot-classification pipeline. The oracle checkpoints
// have no tokenizer, so tests/golden/zero_shot/make_oracle_golden.py builds a
// WordLevel one per family (special tokens at the config's ids, the family's
// pair layout) and writes it with the config and the pipeline's results under
// tests/golden/zero_shot/oracle/<arch>/; here the checkpoint joins them in a
// model directory. The pipeline scores each pair alone; the CLI reads all texts
// of a setting at once, so its batches are padded and must still agree.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "param_name.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Scores agree to float noise; the order of two labels is only checked where
// the pipeline's scores are further apart than that noise could swap.
constexpr double kScoreTolerance = 2e-6;
constexpr double kClearGap = 2e-5;

std::string join(const json& labels) {
  std::string out;
  for (const json& l : labels) out += (out.empty() ? "" : ",") + l.get<std::string>();
  return out;
}

// The golden's config and tokenizer files with the oracle checkpoint.
fs::path assemble_model(const std::string& arch, const fs::path& dir) {
  const fs::path golden = source_dir() / "tests/golden/zero_shot/oracle" / arch;
  const fs::path model = dir / arch;
  fs::create_directories(model);
  for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(golden / name, model / name);
  fs::create_symlink(shared_dir() / "oracle" / (arch + "-tiny") / "model.safetensors",
                     model / "model.safetensors");
  return model;
}

// Worst |Δscore| over the cases; a setting (labels, template, multi-label) runs as one CLI call.
double check_arch(const std::string& arch) {
  const fs::path golden = source_dir() / "tests/golden/zero_shot/oracle" / arch / "expected.json";
  std::ifstream in(golden);
  const json expected = json::parse(in);
  TempDir tmp;
  const fs::path model = assemble_model(arch, tmp.path());
  std::map<std::string, std::vector<json>> settings;  // in file order within a setting
  for (const json& c : expected["cases"])
    settings[json{c["candidate_labels"], c["hypothesis_template"], c["multi_label"]}.dump()].push_back(c);
  double worst = 0;
  size_t compared = 0;
  for (const auto& [key, cases] : settings) {
    const json& first = cases.front();
    {
      std::ofstream text(tmp.path() / "texts.txt");
      for (const json& c : cases) text << c["sequence"].get<std::string>() << "\n";
    }
    std::vector<std::string> args = {"classify",
                                     "-q",
                                     "-m",
                                     model.string(),
                                     "-i",
                                     (tmp.path() / "texts.txt").string(),
                                     "--zero-shot",
                                     join(first["candidate_labels"]),
                                     "--hypothesis-template",
                                     first["hypothesis_template"]};
    if (first["multi_label"]) args.push_back("--multi-label");
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << arch << ": " << r;
    if (r.exit_code != 0) continue;
    std::istringstream lines(r.out);
    for (const json& c : cases) {
      std::string line;
      if (!std::getline(lines, line)) {
        ADD_FAILURE() << arch << ": no output for " << c.dump();
        break;
      }
      const json got = json::parse(line);
      EXPECT_EQ(got["sequence"], c["sequence"]);
      if (got["labels"].size() != c["labels"].size() || got["scores"].size() != c["labels"].size()) {
        ADD_FAILURE() << arch << ": " << c["labels"].size() << " labels expected in " << line;
        continue;
      }
      std::map<std::string, double> got_score;
      for (size_t i = 0; i < got["labels"].size(); ++i)
        got_score[got["labels"][i].get<std::string>()] =
            got["scores"][i].is_number() ? got["scores"][i].get<double>() : 1e9;
      for (size_t i = 0; i < c["labels"].size(); ++i) {
        const std::string label = c["labels"][i];
        const double want = c["scores"][i];
        if (!got_score.count(label)) {
          ADD_FAILURE() << arch << ": " << label << " missing from " << line;
          continue;
        }
        EXPECT_NEAR(got_score[label], want, kScoreTolerance) << arch << ": " << label << " in " << c.dump();
        worst = std::max(worst, std::abs(got_score[label] - want));
        // Where neighbours are clearly apart, the printed order must be the pipeline's.
        const bool clear_before = i == 0 || c["scores"][i - 1].get<double>() - want > kClearGap;
        const bool clear_after =
            i + 1 == c["labels"].size() || want - c["scores"][i + 1].get<double>() > kClearGap;
        if (clear_before && clear_after) {
          EXPECT_EQ(got["labels"][i], label) << arch << ": " << line;
        }
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, expected["cases"].size()) << arch;
  return worst;
}

class ZeroShotOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(ZeroShotOracle, MatchesTransformersPipeline) {
  QP_REQUIRE_SHARED("oracle/" + GetParam() + "-tiny/model.safetensors");
  const double worst = check_arch(GetParam());
  std::cout << GetParam() << ": max |delta score| " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Families, ZeroShotOracle,
                         ::testing::Values("bart", "bert", "deberta-v2", "distilbert", "modernbert"),
                         [](const auto& info) { return qp::test::param_name(info.param); });

}  // namespace
}  // namespace qp::test
