// quantpipe upload and pipeline --upload against the fake hub on 127.0.0.1
// (tests/unit/fake_hub.h, fake_hub_upload.h): the files land byte-identical,
// weights through LFS, README.md is the generated model card (front matter
// read back with yaml-cpp; metrics and gates from the workspace), QDIR is left
// as it was, tokens missing or refused are one clear line, and the pipeline
// uploads a model only when its gates passed.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "../unit/fake_hub.h"
#include "cli_runner.h"
#include "io/hub_upload.h"
#include "models/tiny_model.h"

namespace qp::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

YAML::Node front_matter(const std::string& card) {
  EXPECT_EQ(card.rfind("---\n", 0), 0u) << card;
  const size_t end = card.find("\n---\n", 4);
  EXPECT_NE(end, std::string::npos) << card;
  return YAML::Load(card.substr(4, end - 4));
}

class UploadCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_bert(tmp_.path() / "model", {.sentence_transformer = true});
    std::ofstream(tmp_.path() / "model" / "README.md") << "# the fp32 model's own card\n";
    hub_.add_repo_from_dir("tiny-org/tiny-st", tmp_.path() / "model");
  }
  // quantpipe with HF_* pointing at the fake hub and the temporary cache; the
  // caller's token is cleared, `extra_env` may set one.
  CliResult run(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "-u",
                                     "HF_TOKEN",
                                     "-u",
                                     "HF_TOKEN_PATH",
                                     "-u",
                                     "HF_HUB_CACHE",
                                     "-u",
                                     "HF_HUB_OFFLINE",
                                     "HF_ENDPOINT=" + hub_.endpoint(),
                                     "HF_HOME=" + (tmp_.path() / "hf").string()};
    argv.insert(argv.end(), extra_env.begin(), extra_env.end());
    argv.push_back(quantpipe_binary().string());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv);
  }
  CliResult run_with_token(const std::vector<std::string>& args) {
    return run(args, {std::string("HF_TOKEN=") + FakeHub::kToken});
  }
  // tiny-org/tiny-st from the fake hub, converted to q8_sym_ch.
  fs::path converted() {
    const fs::path q8 = tmp_.path() / "q8";
    const CliResult r = run({"convert", "-m", "tiny-org/tiny-st", "-o", q8.string(), "--bits", "8",
                             "--scheme", "sym", "--per-channel"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return q8;
  }

  TempDir tmp_;
  FakeHub hub_;
};

TEST_F(UploadCli, FilesLandByteIdenticalWithAModelCard) {
  const fs::path q8 = converted();
  const std::string local_readme = read_text(q8 / "README.md");  // convert copied the fp32 card
  const CliResult r = run_with_token({"upload", q8.string(), "me/tiny-st-q8", "-m", "first upload"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const FakeUploadRepo& repo = hub_.uploads.repos["me/tiny-st-q8"];
  ASSERT_EQ(repo.commits.size(), 1u);
  const FakeCommit& commit = repo.commits[0];
  EXPECT_EQ(r.out, "commit: " + hub_.endpoint() + "/me/tiny-st-q8/commit/" + commit.oid +
                       "\noid: " + commit.oid + "\n");
  EXPECT_EQ(commit.summary, "first upload");
  EXPECT_EQ(commit.lfs, std::vector<std::string>{"model.safetensors"});

  // Every file of QDIR but README.md, byte for byte, and nothing else but the card.
  const std::map<std::string, std::string>& files = repo.branches.at("main");
  size_t compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(q8)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), q8).generic_string();
    if (name == "README.md") continue;
    ASSERT_TRUE(files.count(name)) << name;
    EXPECT_EQ(files.at(name), read_text(entry.path())) << name;
    ++compared;
  }
  EXPECT_EQ(files.size(), compared + 1);
  EXPECT_GE(compared, 5u);

  const std::string card = files.at("README.md");
  const YAML::Node front = front_matter(card);
  EXPECT_EQ(front["base_model"].as<std::string>(), "tiny-org/tiny-st");
  EXPECT_EQ(front["library_name"].as<std::string>(), "quantpipe");
  EXPECT_EQ(front["pipeline_tag"].as<std::string>(), "sentence-similarity");
  const auto tags = front["tags"].as<std::vector<std::string>>();
  for (const char* tag : {"quantpipe", "quantized", "8-bit", "q8_sym_ch"})
    EXPECT_NE(std::find(tags.begin(), tags.end(), tag), tags.end()) << tag;
  EXPECT_TRUE(contains(card, "Not evaluated")) << card;
  // QDIR is as it was: its README.md is still the fp32 model's.
  EXPECT_EQ(read_text(q8 / "README.md"), local_readme);
}

TEST_F(UploadCli, AnUploadedModelRunsFromTheHub) {
  const fs::path q8 = converted();
  ASSERT_EQ(run_with_token({"upload", q8.string(), "me/tiny-st-q8"}).exit_code, 0);
  std::ofstream(tmp_.path() / "texts.txt") << "hello world\nthe cat sat\n";
  const std::string texts = (tmp_.path() / "texts.txt").string();
  const CliResult hub = run({"embed", "--model", "me/tiny-st-q8", "--input", texts});
  const CliResult local = run({"embed", "--model", q8.string(), "--input", texts});
  ASSERT_EQ(hub.exit_code, 0) << hub;
  ASSERT_EQ(local.exit_code, 0) << local;
  EXPECT_EQ(hub.out, local.out);
}

TEST_F(UploadCli, RevisionAndPrivate) {
  const fs::path q8 = converted();
  hub_.uploads.repos["me/tiny-st-q8"];  // exists already: fine
  const CliResult r =
      run_with_token({"upload", q8.string(), "me/tiny-st-q8", "--revision", "int8", "--private"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const FakeUploadRepo& repo = hub_.uploads.repos["me/tiny-st-q8"];
  EXPECT_TRUE(repo.branches.at("main").empty());
  EXPECT_EQ(repo.branches.at("int8").at("model.safetensors"), read_text(q8 / "model.safetensors"));
  EXPECT_FALSE(repo.is_private);  // an existing repo keeps its visibility
  ASSERT_EQ(run_with_token({"upload", q8.string(), "me/private-one", "--private"}).exit_code, 0);
  EXPECT_TRUE(hub_.uploads.repos["me/private-one"].is_private);
}

TEST_F(UploadCli, MissingOrRefusedTokenIsOneClearLine) {
  const fs::path q8 = converted();
  expect_clean_failure(run({"upload", q8.string(), "me/tiny-st-q8"}), {"me/tiny-st-q8", "HF_TOKEN"});
  EXPECT_TRUE(hub_.uploads.calls.empty());  // nothing was sent
  expect_clean_failure(run({"upload", q8.string(), "me/tiny-st-q8"}, {"HF_TOKEN=hf_not_the_token"}),
                       {"me/tiny-st-q8", "HTTP 401", "write access"});
  EXPECT_TRUE(hub_.uploads.repos.empty());
}

TEST_F(UploadCli, ServerErrorsAreRetried) {
  const fs::path q8 = converted();
  hub_.uploads.fail_5xx["commit"] = 1;
  hub_.uploads.fail_5xx["put"] = 1;
  const CliResult r = run_with_token({"upload", q8.string(), "me/tiny-st-q8"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(hub_.uploads.calls["commit"], 2);
  EXPECT_EQ(hub_.uploads.calls["put"], 2);
}

TEST_F(UploadCli, UsageAndInputErrors) {
  const fs::path q8 = converted();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"upload", q8.string()}, {"upload", q8.string(), "noslash"}, {"upload"}}) {
    const CliResult r = run_with_token(args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_EQ(r.out, "") << r;
  }
  expect_clean_failure(run_with_token({"upload", (tmp_.path() / "model").string(), "me/x"}),
                       {"quantpipe.json", "convert"});
  expect_clean_failure(run_with_token({"upload", q8.string(), "me/x", "--workspace", tmp_.path().string()}),
                       {"--workspace", "no evaluation"});
  EXPECT_TRUE(hub_.uploads.repos.empty());
}

// pipeline --upload on a tiny classifier: refused when its gate fails, done
// (with the metrics in the card) when it passes.
class PipelineUploadCli : public UploadCli {
 protected:
  void SetUp() override {
    UploadCli::SetUp();
    TinyBertSpec classifier;
    classifier.num_labels = 3;
    write_tiny_bert(tmp_.path() / "classifier", classifier);
    std::ofstream data(tmp_.path() / "labelled.jsonl");
    const char* texts[] = {"the cat sat on the mat", "a dog runs in the park", "we went to the city",
                           "it is a good day"};
    for (int i = 0; i < 4; ++i)
      data << json({{"text", texts[i]}, {"label", "LABEL_" + std::to_string(i % 3)}}).dump() << "\n";
  }
  void write_config(const std::string& gate, const std::string& upload_repo) {
    std::ofstream(config())
        << "models:\n  - name: classifier\n    path: classifier\n    task: classification\n"
        << upload_repo << "    quantization:\n      - {bits: 8, scheme: sym, per_channel: true, " << gate
        << ", max_accuracy_drop: 1}\n    benchmarks: [labelled]\ndatasets:\n  - {name: labelled, "
           "provider: local, path: labelled.jsonl, metrics: [accuracy]}\n";
  }
  CliResult pipeline(const std::vector<std::string>& extra, bool token = true) {
    std::vector<std::string> args = {"pipeline",    "--config", config(), "--workspace",
                                     ws().string(), "-t",       "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return token ? run_with_token(args) : run(args);
  }
  std::string config() const { return (tmp_.path() / "pipeline.yaml").string(); }
  fs::path ws() const { return tmp_.path() / "ws"; }
};

TEST_F(PipelineUploadCli, AFailedGateRefusesTheUpload) {
  write_config("min_speedup: 50", "");
  const CliResult r = pipeline({"--upload", "classifier:q8_sym_ch"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_TRUE(contains(r.out, "upload refused: classifier:q8_sym_ch failed its quality gates on labelled"))
      << r;
  EXPECT_TRUE(contains(r.out, "speedup")) << r;
  EXPECT_TRUE(hub_.uploads.repos.empty());
  EXPECT_TRUE(hub_.uploads.calls.empty());
}

TEST_F(PipelineUploadCli, APassedModelIsUploadedWithItsMetrics) {
  write_config("min_speedup: 0", "    upload_repo: team/cls-{quant}\n");
  const CliResult r = pipeline({"--upload", "classifier:q8_sym_ch"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "uploaded classifier:q8_sym_ch to team/cls-q8_sym_ch")) << r;
  const fs::path qdir = ws() / "models" / "classifier_q8_sym_ch";
  const std::map<std::string, std::string>& files = hub_.uploads.repos["team/cls-q8_sym_ch"].branches["main"];
  EXPECT_EQ(files.at("model.safetensors"), read_text(qdir / "model.safetensors"));
  const std::string card = files.at("README.md");
  EXPECT_EQ(front_matter(card)["pipeline_tag"].as<std::string>(), "text-classification");
  // The workspace's own record of this evaluation: each gate and the verdict are in the card.
  const json entry =
      json::parse(read_text(ws() / "comparisons" / "classifier_comparison.json"))["entries"][0];
  ASSERT_TRUE(entry["passed"].get<bool>());
  EXPECT_TRUE(contains(card, "**PASS** on labelled")) << card;
  for (const json& gate : entry["gates"])
    EXPECT_TRUE(contains(card, gate["name"].get<std::string>())) << gate.dump() << "\n" << card;
  EXPECT_TRUE(contains(card, "| labelled |")) << card;

  // The default repo: the token's user; an explicit one wins over both.
  write_config("min_speedup: 0", "");
  ASSERT_EQ(pipeline({"--upload", "classifier:q8_sym_ch", "--upload", "classifier:q8_sym_ch=me/explicit"})
                .exit_code,
            0);
  EXPECT_EQ(hub_.uploads.repos.count("fake-user/classifier-q8_sym_ch-quantpipe"), 1u);
  EXPECT_EQ(hub_.uploads.repos.count("me/explicit"), 1u);

  // quantpipe upload finds the workspace the directory lies in, and with
  // --workspace a copy of the directory elsewhere (same source and plan).
  ASSERT_EQ(run_with_token({"upload", qdir.string(), "me/by-hand"}).exit_code, 0);
  EXPECT_TRUE(contains(hub_.uploads.repos["me/by-hand"].branches["main"].at("README.md"), "| labelled |"));
  fs::copy(qdir, tmp_.path() / "copy", fs::copy_options::recursive);
  const CliResult copy =
      run_with_token({"upload", (tmp_.path() / "copy").string(), "me/copy", "--workspace", ws().string()});
  ASSERT_EQ(copy.exit_code, 0) << copy;
  EXPECT_TRUE(
      contains(hub_.uploads.repos["me/copy"].branches["main"].at("README.md"), "**PASS** on labelled"));
}

TEST_F(PipelineUploadCli, BadTargetsAndAMissingTokenStopBeforeTheRun) {
  write_config("min_speedup: 0", "");
  expect_clean_failure(pipeline({"--upload", "classifier:q4_affine_g64"}),
                       {"classifier:q4_affine_g64", "classifier:q8_sym_ch"});
  expect_clean_failure(pipeline({"--upload", "classifier:q8_sym_ch"}, false), {"--upload", "HF_TOKEN"});
  EXPECT_FALSE(fs::exists(ws() / "models"));
  const CliResult usage = pipeline({"--upload", "classifier"});
  EXPECT_EQ(usage.exit_code, 2) << usage;
  const CliResult dry = pipeline({"--dry-run", "--upload", "classifier:q8_sym_ch=me/x"});
  ASSERT_EQ(dry.exit_code, 0) << dry;
  EXPECT_TRUE(contains(dry.out, "upload classifier:q8_sym_ch -> me/x")) << dry;
}

}  // namespace
}  // namespace qp::test
