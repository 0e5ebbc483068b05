// Issue 14 item 7: the shared oracle checkpoints come from a hub (the fake one
// on 127.0.0.1 serves each ../shared/oracle/<arch>-tiny directory as the repo
// quantpipe-oracles/<arch>-tiny), and `quantpipe pipeline` runs them through
// the seed-format config tests/configs/oracle_models.yaml: download into the
// HF cache layout, q8 conversion, evaluation, report. The oracles have no
// tokenizer files, so each dataset row is pre-tokenized: transformers'
// reference input ids, labelled with the arg-max of transformers' own logits.
// fp32 accuracy 1.0 is then an independent check of the engine (transformers
// decided the labels), and the gates measure what q8 loses.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../unit/fake_hub.h"
#include "cli_runner.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The architectures of tests/configs/oracle_models.yaml (model <arch>-tiny, dataset oracle-<arch>).
const std::vector<std::string> kArchitectures = {"bert",    "distilbert", "roberta",   "xlm-roberta",
                                                 "electra", "mpnet",      "deberta-v2"};

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The oracle's reference inputs as pre-tokenized JSONL rows with the label
// transformers predicted (config.json's id2label of the logits' arg-max).
void write_oracle_dataset(const fs::path& oracle, const fs::path& out) {
  const json reference = read_json(oracle / "reference_outputs.json");
  const json config = read_json(oracle / "config.json");
  ASSERT_TRUE(reference.is_object() && config.is_object()) << oracle;
  std::ofstream rows(out);
  for (size_t i = 0; i < reference["input_ids"].size(); ++i) {
    const std::vector<double> logits = reference["logits"][i].get<std::vector<double>>();
    const size_t best = static_cast<size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    json row = {{"input_ids", reference["input_ids"][i]},
                {"attention_mask", reference["attention_mask"][i]},
                {"label", config["id2label"][std::to_string(best)]}};
    if (reference.contains("token_type_ids")) row["token_type_ids"] = reference["token_type_ids"][i];
    rows << row.dump() << "\n";
  }
}

TEST(SeedOraclePipeline, OracleModelsFromTheHubConvertEvaluateAndReport) {
  QP_REQUIRE_SHARED("oracle");
  for (const std::string& arch : kArchitectures) QP_REQUIRE_SHARED("oracle/" + arch + "-tiny");
  TempDir tmp;
  FakeHub hub;
  std::string datasets = "datasets:\n";
  for (const std::string& arch : kArchitectures) {
    const fs::path oracle = shared_dir() / "oracle" / (arch + "-tiny");
    hub.add_repo_from_dir("quantpipe-oracles/" + arch + "-tiny", oracle);
    write_oracle_dataset(oracle, tmp.path() / ("oracle-" + arch + ".jsonl"));
    datasets += "  - {name: oracle-" + arch + ", provider: local, path: oracle-" + arch +
                ".jsonl, metrics: [accuracy]}\n";
  }
  std::ofstream(tmp.path() / "datasets.yaml") << datasets;

  const fs::path ws = tmp.path() / "ws";
  const CliResult r = run_program({"/usr/bin/env",
                                   "-u",
                                   "HF_TOKEN",
                                   "-u",
                                   "HF_HUB_CACHE",
                                   "-u",
                                   "HF_HUB_OFFLINE",
                                   "HF_ENDPOINT=" + hub.endpoint(),
                                   "HF_HOME=" + (tmp.path() / "hf").string(),
                                   quantpipe_binary().string(),
                                   "pipeline",
                                   "--config",
                                   (source_dir() / "tests" / "configs" / "oracle_models.yaml").string(),
                                   "--config",
                                   (tmp.path() / "datasets.yaml").string(),
                                   "--workspace",
                                   ws.string(),
                                   "-t",
                                   "1",
                                   "--speed-rounds",
                                   "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "14 done, 0 skipped, 0 failed")) << r;

  const std::string report = read_text(ws / "report.md");
  for (const std::string& arch : kArchitectures) {
    SCOPED_TRACE(arch);
    const std::string name = arch + "-tiny";
    // Downloaded into the HF cache layout: a snapshot whose files link to blobs.
    const fs::path repo = tmp.path() / "hf" / "hub" / ("models--quantpipe-oracles--" + name);
    EXPECT_TRUE(fs::is_symlink(repo / "snapshots" / hub.repos["quantpipe-oracles/" + name].sha /
                               "model.safetensors"));
    EXPECT_EQ(read_text(repo / "refs" / "main"), hub.repos["quantpipe-oracles/" + name].sha);

    const json doc = read_json(ws / "comparisons" / (name + "_comparison.json"));
    ASSERT_TRUE(doc.is_object() && doc["entries"].size() == 1u) << doc.dump(2);
    const json& entry = doc["entries"][0];
    EXPECT_TRUE(fs::exists(fs::path(entry["quantized_path"].get<std::string>()) / "quantpipe.json"));
    const json& baseline = entry["comparison"]["baseline"];
    const json& quantized = entry["comparison"]["quantized"];
    EXPECT_EQ(baseline["format"], "fp32");
    EXPECT_EQ(baseline["rows"], 3);
    EXPECT_EQ(quantized["rows"], 3);
    // transformers labelled the rows, so fp32 agrees on every one.
    EXPECT_EQ(baseline["metrics"]["accuracy"].get<double>(), 1.0);
    EXPECT_TRUE(quantized["metrics"].contains("accuracy"));
    EXPECT_GT(entry["comparison"]["fidelity"]["mean_cosine"].get<double>(), 0.99);
    EXPECT_FALSE(entry["comparison"]["fidelity"]["per_layer"].empty());
    EXPECT_TRUE(entry["passed"].get<bool>()) << entry["gates"].dump(2);
    EXPECT_TRUE(contains(report, name)) << "report.md does not mention " << name;
  }
}

}  // namespace
}  // namespace qp::test
