// Issue 16 item 5: the report's memory is each model's own. The pipeline
// evaluates q8 and then q4 of one model in one process; before, the q4 run
// was charged what the q8 job had left in the heap (and q4 showed more RSS
// than q8 although its weights are smaller). Now each run counts RSS above the
// process just before its model was loaded, and each job frees its models.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_paths.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

TEST(PipelineMemory, EachQuantizationIsChargedItsOwnMemory) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  QP_REQUIRE_SHARED("data/genre/dev_a.jsonl");
  TempDir tmp;
  std::ofstream(tmp.path() / "p.yaml")
      << "models:\n  - name: genre\n    path: " << (shared_dir() / "models/minilm-l6-genre").string()
      << "\n    task: classification\n    quantization:\n"
         "      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 0}\n"
         "      - {bits: 4, scheme: affine, group_size: 64, min_speedup: 0, "
         "max_accuracy_drop: 1}\n    benchmarks: [genre]\n"
         "datasets:\n  - {name: genre, provider: local, path: "
      << (shared_dir() / "data/genre/dev_a.jsonl").string() << ", metrics: [accuracy]}\n";
  const fs::path ws = tmp.path() / "ws";
  const CliResult r = run_cli({"pipeline", "-q", "--config", (tmp.path() / "p.yaml").string(), "--workspace",
                               ws.string(), "--limit", "96", "--speed-rounds", "0", "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::ifstream in(ws / "comparisons/genre_comparison.json");
  const json doc = json::parse(in);
  ASSERT_EQ(doc["entries"].size(), 2u) << doc.dump(2);
  std::map<std::string, json> memory;
  for (const json& entry : doc["entries"]) {
    const json& run = entry["comparison"]["quantized"];
    memory[run["format"].get<std::string>()] = run["memory"];
    EXPECT_GT(run["memory"]["rss_before_load_mb"].get<double>(), 0.0);
    EXPECT_NEAR(
        run["memory"]["model_rss_peak_mb"].get<double>(),
        run["memory"]["rss_peak_mb"].get<double>() - run["memory"]["rss_before_load_mb"].get<double>(), 1e-6);
  }
  ASSERT_TRUE(memory.count("q8_sym_ch") && memory.count("q4_affine_g64")) << doc.dump(2);
  const double q8 = memory["q8_sym_ch"]["model_rss_peak_mb"].get<double>();
  const double q4 = memory["q4_affine_g64"]["model_rss_peak_mb"].get<double>();
  // q4's resident weights are a few MB smaller than q8's; the activations are
  // the same. Where glibc places them depends on the heap the earlier jobs
  // left: over 10 runs q8 read 51.4–51.7 MB and q4 48.0–53.3 MB. The bug this
  // guards against charged q4 70 MB too much.
  EXPECT_LT(q4, q8 + 5.0) << "q8 " << q8 << " MB, q4 " << q4 << " MB";
  EXPECT_GT(q4, 5.0);
}

}  // namespace
}  // namespace qp::test
