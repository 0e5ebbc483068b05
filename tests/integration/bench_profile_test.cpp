// `quantpipe bench --profile` on a trained MiniLM, fp32 and q8, one and two
// threads (GELU is fused into the up GEMM here, so it has no line): the ops of a BERT forward pass appear
// with the calls the model makes (6 layers), and the ops never claim more thread time than there was
// (exclusive accounting: a negative remainder would be double counting).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

TEST(BenchProfile, ShowsEveryOpOfTheForwardPassOnce) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  TempDir tmp;
  const fs::path fp32 = shared_dir() / "models/minilm-l6-genre", q8 = tmp.path() / "q8";
  const CliResult convert =
      run_cli({"convert", "-q", "-m", fp32.string(), "--out", q8.string(), "--bits", "8"});
  ASSERT_EQ(convert.exit_code, 0) << convert;
  for (const fs::path& model : {fp32, q8}) {
    const CliResult r =
        run_cli({"bench", "-q", "-m", model.string(), "--threads", "1,2", "--batch-size", "4", "--seq-len",
                 "32", "--sequences", "8", "--runs", "2", "--warmup", "1", "--profile", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r;
    const json rows = json::parse(r.out);
    ASSERT_EQ(rows.size(), 2u);
    for (const json& row : rows) {
      ASSERT_TRUE(row.contains("profile")) << row.dump();
      std::map<std::string, json> ops;
      double shares = 0;
      for (const json& op : row["profile"]) {
        ops[op["op"].get<std::string>()] = op;
        shares += op["share"].get<double>();
      }
      // 8 sequences in batches of 4: 2 forward passes per run, 6 layers each.
      // The FFN runs in token blocks (4 of 32 tokens here), a GEMM pair each.
      for (const char* name : {"gemm qkv", "gemm attn_out", "gemm ffn_up", "gemm ffn_down"}) {
        ASSERT_TRUE(ops.count(name)) << name << " missing: " << row.dump();
        const bool blocked = std::string(name).starts_with("gemm ffn");
        EXPECT_EQ(ops[name]["calls_per_run"].get<double>(), blocked ? 48.0 : 12.0) << name;
        EXPECT_GT(ops[name]["ms_per_run"].get<double>(), 0.0) << name;
      }
      for (const char* name : {"attention q·kᵀ", "softmax", "attention p·v", "layer norm", "embedding"})
        EXPECT_TRUE(ops.count(name)) << name << " missing: " << row.dump();
      EXPECT_EQ(ops.count("activation quantization"), model == q8 ? 1u : 0u) << row.dump();
      EXPECT_EQ(ops.count("thread idle"), row["threads"] == 2 ? 1u : 0u) << row.dump();
      EXPECT_NEAR(shares, 1.0, 1e-6);
      EXPECT_GT(ops["unclaimed (serial parts, other threads asleep)"]["share"].get<double>(), -0.02)
          << row.dump();
    }
  }
}

TEST(BenchProfile, TableFollowsTheMarkdownSummary) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const CliResult r =
      run_cli({"bench", "-q", "-m", (shared_dir() / "models/minilm-l6-genre").string(), "--batch-size", "2",
               "--seq-len", "16", "--sequences", "2", "--runs", "1", "--warmup", "0", "--profile"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("| op | ms per run | share of thread time | calls per run |"), std::string::npos) << r;
  EXPECT_NE(r.out.find("| gemm ffn_up |"), std::string::npos) << r;
}

}  // namespace
}  // namespace qp::test
