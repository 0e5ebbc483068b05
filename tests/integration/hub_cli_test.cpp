// quantpipe download, and hub ids where a command takes --model, against the
// fake hub on 127.0.0.1 (tests/unit/fake_hub.h); the cache and the token file
// live in a temporary HF_HOME.
#include <gtest/gtest.h>

#include <fstream>

#include "../unit/fake_dataset_viewer.h"
#include "../unit/fake_hub.h"
#include "cli_runner.h"
#include "models/tiny_model.h"
#include "serve_process.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;

class HubCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(tmp_.path() / "model", {.sentence_transformer = true});
    hub_.add_repo_from_dir("tiny-org/tiny-st", tmp_.path() / "model");
    std::ofstream(tmp_.path() / "texts.txt") << "hello world\nthe cat sat\n";
  }
  // quantpipe with HF_* pointing at the fake hub and the temporary cache.
  CliResult run(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {}) {
    return run_program(command(args, extra_env));
  }
  // The argv of that run: env clearing the caller's HF_* and pointing at the fake hub.
  std::vector<std::string> command(const std::vector<std::string>& args,
                                   const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "-u",
                                     "HF_TOKEN",
                                     "-u",
                                     "HF_HUB_CACHE",
                                     "-u",
                                     "HF_HUB_OFFLINE",
                                     "HF_ENDPOINT=" + hub_.endpoint(),
                                     "HF_HOME=" + (tmp_.path() / "hf").string()};
    argv.insert(argv.end(), extra_env.begin(), extra_env.end());
    argv.push_back(quantpipe_binary().string());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  fs::path snapshot() {
    return tmp_.path() / "hf" / "hub" / "models--tiny-org--tiny-st" / "snapshots" /
           hub_.repos["tiny-org/tiny-st"].sha;
  }

  TempDir tmp_;
  FakeHub hub_;
};

TEST_F(HubCli, DownloadPrintsTheSnapshotDirectory) {
  const CliResult r = run({"download", "tiny-org/tiny-st"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, snapshot().string() + "\n");
  EXPECT_TRUE(fs::is_symlink(snapshot() / "model.safetensors"));
}

TEST_F(HubCli, EmbedAndConvertTakeAHubId) {
  const std::string texts = (tmp_.path() / "texts.txt").string();
  const CliResult hub = run({"embed", "--model", "tiny-org/tiny-st", "--input", texts});
  const CliResult local = run({"embed", "--model", (tmp_.path() / "model").string(), "--input", texts});
  ASSERT_EQ(hub.exit_code, 0) << hub;
  EXPECT_EQ(hub.out, local.out);
  const CliResult convert = run({"convert", "-m", "tiny-org/tiny-st", "-o", (tmp_.path() / "q8").string()});
  ASSERT_EQ(convert.exit_code, 0) << convert;
  EXPECT_TRUE(fs::exists(tmp_.path() / "q8" / "quantpipe.json"));
}

TEST_F(HubCli, ServeTakesAHubId) {
  const CliResult local = run({"embed", "--model", (tmp_.path() / "model").string(), "--input",
                               (tmp_.path() / "texts.txt").string()});
  ASSERT_EQ(local.exit_code, 0) << local;
  const std::vector<std::string> serve = ServeProcess::serve_argv("tiny-org/tiny-st", {});
  ServeProcess server(command(std::vector<std::string>(serve.begin() + 1, serve.end())));
  ASSERT_TRUE(server.started());
  const nlohmann::json rows = server.post_json("/embed", {{"inputs", {"hello world"}}});
  ASSERT_EQ(rows.size(), 1u);
  const nlohmann::json expected = parse_jsonl(local.out).at(0).at("embedding");
  ASSERT_EQ(rows[0].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(rows[0][i].get<double>(), expected[i].get<double>(), 1e-5);
  const auto info = server.client()->Get("/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(nlohmann::json::parse(info->body)["model_id"], "tiny-org/tiny-st");
  EXPECT_EQ(server.terminate_and_wait().exit_code, 0);
}

TEST_F(HubCli, EvalTakesAHubIdAndOfflineUsesTheCache) {
  std::ofstream(tmp_.path() / "data.jsonl") << "{\"text\": \"the cat sat\"}\n{\"text\": \"hello world\"}\n";
  const std::vector<std::string> eval = {
      "eval",   "--model",    "tiny-org/tiny-st",  "--dataset", (tmp_.path() / "data.jsonl").string(),
      "--task", "unlabelled", "--latency-queries", "1"};
  const CliResult online = run(eval);
  ASSERT_EQ(online.exit_code, 0) << online;
  const CliResult offline = run(eval, {"HF_HUB_OFFLINE=1", "HF_ENDPOINT=http://127.0.0.1:1"});
  ASSERT_EQ(offline.exit_code, 0) << offline;
}

TEST_F(HubCli, GatedUnknownAndOfflineMissingAreOneClearLine) {
  hub_.repos["tiny-org/tiny-st"].gated = true;
  expect_clean_failure(run({"download", "tiny-org/tiny-st"}), {"tiny-org/tiny-st", "HF_TOKEN"});
  fs::create_directories(tmp_.path() / "hf");
  std::ofstream(tmp_.path() / "hf" / "token")
      << FakeHub::kToken << "\n";  // as `huggingface-cli login` leaves it
  EXPECT_EQ(run({"download", "tiny-org/tiny-st"}).exit_code, 0);
  expect_clean_failure(run({"download", "nobody/nothing"}), {"nobody/nothing", "404"});
  expect_clean_failure(run({"download", "other/model"}, {"HF_HUB_OFFLINE=1"}),
                       {"other/model", "config.json", "HF_HUB_OFFLINE"});
  expect_clean_failure(run({"download", "not a repo"}), {"not a hub model id"});
}

// A file-size limit stands in for a full disk (EFBIG where ENOSPC would be):
// the write fails mid-file, nothing appears under snapshots/, and the next run
// resumes the partial blob.
TEST_F(HubCli, FullDiskLeavesNothingHalfWrittenAndTheNextRunResumes) {
  std::vector<std::string> argv = {"/bin/bash", "-c", "trap '' XFSZ; ulimit -f 64; exec \"$@\"", "bash"};
  for (std::string& arg : command({"download", "tiny-org/tiny-st"})) argv.push_back(std::move(arg));
  ASSERT_GT(hub_.repos["tiny-org/tiny-st"].files["model.safetensors"].size(), 64u * 1024);
  expect_clean_failure(run_program(argv), {"tiny-org/tiny-st", "model.safetensors", "cannot write"});
  EXPECT_FALSE(fs::exists(snapshot() / "model.safetensors"));
  const CliResult again = run({"download", "tiny-org/tiny-st"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(hub_.ranges["model.safetensors"], "bytes=65536-");
  std::ifstream in(snapshot() / "model.safetensors", std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, hub_.repos["tiny-org/tiny-st"].files["model.safetensors"]);
}

TEST_F(HubCli, DownloadIncludeAddsTheMatchingFiles) {
  hub_.repos["tiny-org/tiny-st"].files["README.md"] = "# tiny\n";
  hub_.repos["tiny-org/tiny-st"].files["onnx/model.onnx"] = "not really onnx";
  const CliResult plain = run({"download", "tiny-org/tiny-st"});
  ASSERT_EQ(plain.exit_code, 0) << plain;
  EXPECT_FALSE(fs::exists(snapshot() / "README.md")) << "only what a conversion needs by default";
  const CliResult more =
      run({"download", "tiny-org/tiny-st", "--include", "README.md", "--include", "onnx*"});
  ASSERT_EQ(more.exit_code, 0) << more;
  EXPECT_EQ(read_bytes(snapshot() / "README.md"), "# tiny\n");
  EXPECT_EQ(read_bytes(snapshot() / "onnx" / "model.onnx"), "not really onnx");
  const CliResult none = run({"download", "tiny-org/tiny-st", "--include", "*.gguf"});
  ASSERT_EQ(none.exit_code, 0) << none;
  EXPECT_TRUE(none.err.find("'*.gguf' matches no file") != std::string::npos) << none;
}

// The bar (file, bytes, rate) appears on a terminal and is cleared; a
// redirected stderr never gets one.
TEST_F(HubCli, DownloadProgressBarOnATerminalOnly) {
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "script(1) is not installed";
  std::string line;
  for (const std::string& arg : command({"download", "tiny-org/tiny-st"})) line += "'" + arg + "' ";
  const fs::path typescript = tmp_.path() / "typescript";
  const CliResult r = run_program({"/usr/bin/script", "-q", "-e", "-c", line, typescript.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string terminal = read_bytes(typescript);
  EXPECT_TRUE(terminal.find("\r[download] model.safetensors [####################] ") != std::string::npos)
      << terminal;
  EXPECT_TRUE(terminal.find(" MiB") != std::string::npos) << terminal;
  EXPECT_TRUE(terminal.find("\r\033[K") != std::string::npos) << "cleared when done: " << terminal;
  fs::remove_all(tmp_.path() / "hf");
  const CliResult piped = run({"download", "tiny-org/tiny-st"});
  ASSERT_EQ(piped.exit_code, 0) << piped;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped;
  EXPECT_TRUE(piped.err.find("fetching model.safetensors (") != std::string::npos) << piped;
}

TEST_F(HubCli, TokenizeAndInspectTakeAHubId) {
  const std::string texts = (tmp_.path() / "texts.txt").string();
  const CliResult hub = run({"tokenize", "--model", "tiny-org/tiny-st", "--input", texts});
  const CliResult local = run({"tokenize", "--model", (tmp_.path() / "model").string(), "--input", texts});
  ASSERT_EQ(hub.exit_code, 0) << hub;
  EXPECT_EQ(hub.out, local.out);
  const CliResult inspect = run({"inspect", "tiny-org/tiny-st"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_TRUE(inspect.out.find(snapshot().string()) != std::string::npos) << inspect;
  EXPECT_TRUE(inspect.out.find("embeddings.word_embeddings.weight") != std::string::npos) << inspect;
}

// Issue 12: the pipeline fetches a hub model that is not cached, converts and
// evaluates it; the rerun finds it in the cache and skips the work.
TEST_F(HubCli, PipelineFetchesAMissingHubModelItself) {
  std::ofstream pairs(tmp_.path() / "pairs.tsv");
  pairs << "sentence1\tsentence2\tscore\n";
  const char* texts[] = {"the cat sat on the mat", "a dog runs in the park", "we went to the city",
                         "the man is playing a game"};
  for (int i = 0; i < 4; ++i) pairs << texts[i] << "\t" << texts[(i + 1) % 4] << "\t" << i * 1.2 << "\n";
  pairs.close();
  std::ofstream(tmp_.path() / "p.yaml") << R"(models:
  - name: st
    hf_name: tiny-org/tiny-st
    task: embedding
    quantization: {bits: 8, scheme: sym, per_channel: true, min_speedup: 0}
    benchmarks: [pairs]
datasets:
  - {name: pairs, provider: local, path: pairs.tsv, columns: {text: sentence1, text_pair: sentence2, label: score}, metrics: [spearman]}
)";
  const std::vector<std::string> pipeline = {
      "pipeline", "--config", (tmp_.path() / "p.yaml").string(), "--workspace", (tmp_.path() / "ws").string(),
      "-t",       "1"};
  const CliResult r = run(pipeline);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(fs::is_symlink(snapshot() / "model.safetensors"));
  EXPECT_TRUE(r.out.find("2 done, 0 skipped, 0 failed") != std::string::npos) << r;
  const CliResult again = run(pipeline, {"HF_HUB_OFFLINE=1"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_TRUE(again.out.find("0 done, 2 skipped, 0 failed") != std::string::npos) << again;
}

// Issue 12: a `provider: huggingface` dataset is fetched through the rows API
// into the workspace's cache; the rerun, offline, evaluates the cached rows
// and keeps the results.
TEST_F(HubCli, PipelineFetchesAHubDatasetAndRerunsOfflineFromTheCache) {
  FakeDatasetViewer viewer;
  const char* texts[] = {"the cat sat on the mat", "a dog runs in the park", "we went to the city",
                         "the man is playing a game", "it is a good day"};
  for (int i = 0; i < 5; ++i)
    viewer.datasets["nyu-mll/glue"]["stsb"]["validation"].push_back(
        {{"sentence1", texts[i]}, {"sentence2", texts[(i + 1) % 5]}, {"label", i * 1.1}, {"idx", i}});
  std::ofstream(tmp_.path() / "p.yaml") << R"(models:
  - name: st
    hf_name: tiny-org/tiny-st
    task: embedding
    quantization: {bits: 8, scheme: sym, per_channel: true, min_speedup: 0}
    benchmarks: [stsb]
datasets:
  stsb:
    provider: huggingface
    name: nyu-mll/glue
    subset: stsb
    splits: {validation: validation}
    metrics: [spearman]
    columns: {text: sentence1, text_pair: sentence2, label: label}
)";
  const std::vector<std::string> pipeline = {
      "pipeline", "--config", (tmp_.path() / "p.yaml").string(), "--workspace", (tmp_.path() / "ws").string(),
      "-t",       "1"};
  const CliResult r = run(pipeline, {"QUANTPIPE_DATASETS_SERVER=" + viewer.endpoint()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(r.out.find("2 done, 0 skipped, 0 failed") != std::string::npos) << r;
  const fs::path cached =
      tmp_.path() / "ws" / "cache" / "datasets" / "nyu-mll__glue" / "stsb" / "validation.jsonl";
  const std::string rows = read_bytes(cached);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 5) << rows;
  EXPECT_TRUE(fs::exists(cached.string() + ".meta.json"));
  EXPECT_EQ(viewer.rows_requests, 1);
  const CliResult again = run(pipeline, {"HF_HUB_OFFLINE=1", "QUANTPIPE_DATASETS_SERVER=http://127.0.0.1:9"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_TRUE(again.out.find("0 done, 2 skipped, 0 failed") != std::string::npos) << again;
  EXPECT_EQ(viewer.rows_requests, 1);
}

}  // namespace
}  // namespace qp::test
