// quantpipe pipeline / monitor / demo end to end on tiny generated models (no
// ../shared needed): the workspace files, skip-if-unchanged, --no-skip,
// dry-run, parallel conversions, failing gates and unavailable models.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "pipeline/config.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::contains;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in, nullptr, false);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class PipelineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyBertSpec classifier;
    classifier.hidden = 64;
    classifier.intermediate = 128;
    classifier.num_labels = 3;
    write_tiny_bert(dir_.path() / "classifier", classifier);
    TinyBertSpec embedder = classifier;
    embedder.num_labels = 0;
    embedder.sentence_transformer = true;
    write_tiny_bert(dir_.path() / "embedder", embedder);
    std::ofstream labelled(dir_.path() / "labelled.jsonl");
    const char* texts[] = {"the cat sat on the mat",    "a dog runs in the park", "we went to the city",
                           "the man is playing a game", "it is a good day",       "she reads a book"};
    for (int i = 0; i < 6; ++i)
      labelled << json({{"text", texts[i]}, {"label", "LABEL_" + std::to_string(i % 3)}}).dump() << "\n";
    std::ofstream pairs(dir_.path() / "pairs.tsv");
    pairs << "sentence1\tsentence2\tscore\n";
    for (int i = 0; i < 6; ++i) pairs << texts[i] << "\t" << texts[(i + 1) % 6] << "\t" << i * 0.8 << "\n";
    write_config(kConfig);
  }

  static constexpr const char* kConfig = R"(models:
  - name: classifier
    path: classifier
    task: classification
    quantization:
      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 0, max_accuracy_drop: 1}
    benchmarks: [labelled]
  - name: embedder
    path: embedder
    task: embedding
    quantization:
      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 0}
    benchmarks: [pairs]
datasets:
  - {name: labelled, provider: local, path: labelled.jsonl, metrics: [accuracy]}
  - {name: pairs, provider: local, path: pairs.tsv, columns: {text: sentence1, text_pair: sentence2, label: score}, metrics: [spearman]}
)";

  void write_config(const std::string& text) { std::ofstream(config()) << text; }

  // The standard config plus a model only the hub has, run with an empty hub
  // cache, offline unless `online` (then against a closed local port, never
  // the internet), and `extra` pipeline options.
  test::CliResult run_with_a_model_not_in_the_hub_cache(const std::string& extra, bool online = false) {
    std::string text = kConfig;
    text.replace(text.find("datasets:"), 0,
                 "  - {name: hub-only, hf_name: org/not-downloaded, task: nli, quantization: {bits: 8}, "
                 "benchmarks: [labelled]}\n");
    write_config(text);
    const std::string cache = (dir_.path() / "empty-hub").string();
    const std::string hub_env =
        online ? "HF_HUB_OFFLINE= QUANTPIPE_HUB_ATTEMPTS=1 HF_ENDPOINT=http://127.0.0.1:9 "
               : "HF_HUB_OFFLINE=1 ";
    return test::run_program({"/bin/bash", "-c",
                              hub_env + "HF_HUB_CACHE='" + cache + "' exec '" +
                                  test::quantpipe_binary().string() + "' pipeline --config '" + config() +
                                  "' --workspace '" + ws().string() + "' " + extra});
  }
  std::string config() const { return (dir_.path() / "pipeline.yaml").string(); }
  fs::path ws() const { return dir_.path() / "ws"; }

  test::CliResult pipeline(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"pipeline",    "--config", config(), "--workspace",
                                     ws().string(), "-t",       "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_cli(args);
  }

  test::TempDir dir_;
};

TEST_F(PipelineCli, RunWritesTheWorkspaceThenSkipsUnchangedWork) {
  const test::CliResult first = pipeline();
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_TRUE(contains(first.out, "4 done, 0 skipped, 0 failed")) << first;
  // Plain progress lines (stderr is not a terminal here), one per job.
  EXPECT_TRUE(contains(first.err, "[1/4] done convert classifier q8_sym_ch")) << first;
  EXPECT_TRUE(contains(first.err, "[4/4] done eval")) << first;

  for (const char* file :
       {"logs/conversion_classifier.log", "logs/conversion_embedder.log",
        "results/classifier_conversion.json", "test_results/classifier_q8_sym_ch_results.json",
        "test_results/embedder_q8_sym_ch_results.json", "comparisons/classifier_comparison.json",
        "comparisons/embedder_comparison.json", "models/classifier_q8_sym_ch/quantpipe.json",
        "state/run.json", "report.md", "report.html"})
    EXPECT_TRUE(fs::exists(ws() / file)) << file;
  EXPECT_TRUE(
      contains(read_text(ws() / "logs/conversion_classifier.log"), "done convert classifier q8_sym_ch"));

  // The six metrics, for fp32 and quantized, plus fidelity and gates.
  const json doc = read_json(ws() / "comparisons/classifier_comparison.json");
  ASSERT_EQ(doc["entries"].size(), 1u) << doc.dump(2);
  const json& entry = doc["entries"][0];
  for (const char* side : {"baseline", "quantized"}) {
    const json& run = entry["comparison"][side];
    EXPECT_EQ(run["rows"], 6) << side;
    EXPECT_TRUE(run["metrics"].contains("accuracy")) << side;
    for (const char* key : {"queries_per_minute", "model_size_mb", "tokens_per_second"})
      EXPECT_GT(run[key].get<double>(), 0) << side << " " << key;
    EXPECT_GT(run["memory"]["rss_peak_mb"].get<double>(), 0) << side;
    EXPECT_GE(run["memory"]["rss_peak_mb"].get<double>(), run["memory"]["rss_avg_mb"].get<double>()) << side;
    EXPECT_LE(run["latency_ms"]["p50"].get<double>(), run["latency_ms"]["p99"].get<double>()) << side;
  }
  EXPECT_EQ(entry["comparison"]["baseline"]["format"], "fp32");
  EXPECT_EQ(entry["comparison"]["quantized"]["format"], "q8_sym_ch");
  EXPECT_LT(entry["comparison"]["quantized"]["model_size_mb"].get<double>(),
            entry["comparison"]["baseline"]["model_size_mb"].get<double>());
  EXPECT_GT(entry["comparison"]["fidelity"]["mean_cosine"].get<double>(), 0.99);
  EXPECT_TRUE(entry["passed"].get<bool>()) << entry["gates"].dump(2);
  EXPECT_TRUE(entry.contains("conversion"));  // the quantpipe.json body, for the per-tensor chart
  const json sts = read_json(ws() / "comparisons/embedder_comparison.json")["entries"][0];
  EXPECT_EQ(sts["comparison"]["quantized"]["primary_metric"], "spearman");

  // Unchanged: everything is skipped and the results stay complete.
  const test::CliResult second = pipeline();
  ASSERT_EQ(second.exit_code, 0) << second;
  EXPECT_TRUE(contains(second.out, "0 done, 4 skipped, 0 failed")) << second;
  EXPECT_EQ(count(second.err, "] skipped "), 4) << second;
  EXPECT_EQ(read_json(ws() / "comparisons/classifier_comparison.json")["entries"].size(), 1u);

  // --no-skip reruns everything.
  const test::CliResult third = pipeline({"--no-skip"});
  ASSERT_EQ(third.exit_code, 0) << third;
  EXPECT_TRUE(contains(third.out, "4 done, 0 skipped")) << third;

  // A new quantization runs only its own jobs; the rest stays skipped.
  std::string changed = kConfig;
  changed.replace(changed.find("    benchmarks: [labelled]"), 0,
                  "      - {bits: 4, group_size: 32, min_speedup: 0, min_agreement: 0, min_cosine: 0}\n");
  write_config(changed);
  const test::CliResult fourth = pipeline();
  ASSERT_EQ(fourth.exit_code, 0) << fourth;
  EXPECT_TRUE(contains(fourth.out, "2 done, 4 skipped")) << fourth;
  EXPECT_EQ(read_json(ws() / "comparisons/classifier_comparison.json")["entries"].size(), 2u);

  // The monitor reads the finished run from the workspace.
  const test::CliResult monitor = test::run_cli({"monitor", "--workspace", ws().string()});
  EXPECT_EQ(monitor.exit_code, 0) << monitor;
  EXPECT_TRUE(contains(monitor.out, "finished after")) << monitor;
  EXPECT_TRUE(contains(monitor.out, "6/6 jobs — 2 done, 4 skipped, 0 failed")) << monitor;
}

// Issue 11: a model's `note:` travels into its comparison document and both reports.
TEST_F(PipelineCli, ModelNoteIsShownInTheReport) {
  std::string with_note = kConfig;
  with_note.replace(with_note.find("    benchmarks: [labelled]"), 0,
                    "    note: \"deliberately weak, not a bug\"\n");
  write_config(with_note);
  const test::CliResult r = pipeline({"--models", "classifier"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_json(ws() / "comparisons/classifier_comparison.json")["note"],
            "deliberately weak, not a bug");
  EXPECT_TRUE(contains(read_text(ws() / "report.md"), "> **Note:** deliberately weak, not a bug"));
  EXPECT_TRUE(
      contains(read_text(ws() / "report.html"), "<strong>Note:</strong> deliberately weak, not a bug"));

  // A changed note reruns nothing, and the report shows the new one.
  with_note.replace(with_note.find("deliberately weak, not a bug"), 28, "a changed note");
  write_config(with_note);
  const test::CliResult again = pipeline({"--models", "classifier"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_TRUE(contains(again.out, "0 done, 2 skipped")) << again;
  EXPECT_TRUE(contains(read_text(ws() / "report.md"), "> **Note:** a changed note"));
}

TEST_F(PipelineCli, DryRunPrintsPlanAndCommandsAndRunsNothing) {
  const test::CliResult r = pipeline({"--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "2 conversions, 2 evaluations")) << r;
  EXPECT_TRUE(contains(r.out, "convert.classifier.q8_sym_ch  [run]")) << r;
  EXPECT_TRUE(contains(r.out, "quantpipe convert --model ")) << r;
  EXPECT_TRUE(contains(r.out, "quantpipe eval --model ")) << r;
  EXPECT_FALSE(fs::exists(ws() / "state")) << "a dry run must write nothing";
  // After a real run the dry run says what would be skipped.
  ASSERT_EQ(pipeline({"--models", "classifier"}).exit_code, 0);
  const test::CliResult again = pipeline({"--dry-run"});
  EXPECT_TRUE(contains(again.out, "convert.classifier.q8_sym_ch  [skip (unchanged since the last run)]"))
      << again;
  EXPECT_TRUE(contains(again.out, "convert.embedder.q8_sym_ch  [run]")) << again;
}

TEST_F(PipelineCli, ParallelConversionsGiveTheSameResults) {
  const test::CliResult r = pipeline({"--jobs", "2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "4 done, 0 skipped, 0 failed")) << r;
  EXPECT_TRUE(fs::exists(ws() / "models/classifier_q8_sym_ch/model.safetensors"));
  EXPECT_TRUE(fs::exists(ws() / "models/embedder_q8_sym_ch/model.safetensors"));
}

TEST_F(PipelineCli, FailedGateExitsTwoAndSaysWhichAndByHowMuch) {
  std::string strict = kConfig;
  strict.replace(strict.find("min_speedup: 0, max_accuracy_drop"), 14, "min_speedup: 50");
  write_config(strict);
  const test::CliResult r = pipeline({"--models", "classifier"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_TRUE(contains(r.out, "1 evaluation(s) failed a quality gate")) << r;
  EXPECT_TRUE(contains(r.out, "FAIL eval.classifier.q8_sym_ch.labelled")) << r;
  EXPECT_TRUE(contains(r.out, "speed")) << r;
  const json entry = read_json(ws() / "comparisons/classifier_comparison.json")["entries"][0];
  EXPECT_FALSE(entry["passed"].get<bool>());
  EXPECT_TRUE(contains(read_text(ws() / "report.md"), "FAIL")) << read_text(ws() / "report.md");
}

// Issue 10: the identical rerun of a run with a failed gate exited 0 with "0
// evaluation(s) failed" while report.md still showed FAIL, and rewrote the
// skipped job's state with started: 0.
TEST_F(PipelineCli, RerunReportsTheStoredFailedGateAndKeepsTheRunTimes) {
  std::string strict = kConfig;
  strict.replace(strict.find("min_speedup: 0, max_accuracy_drop"), 14, "min_speedup: 50");
  write_config(strict);
  const test::CliResult first = pipeline({"--models", "classifier"});
  ASSERT_EQ(first.exit_code, 2) << first;
  const json state = read_json(ws() / "state/eval.classifier.q8_sym_ch.labelled.json");
  ASSERT_GT(state["started"].get<double>(), 0) << state.dump(2);

  const test::CliResult rerun = pipeline({"--models", "classifier"});
  EXPECT_EQ(rerun.exit_code, 2) << rerun;
  EXPECT_TRUE(contains(rerun.out, "0 done, 2 skipped, 0 failed; 1 evaluation(s) failed a quality gate"))
      << rerun;
  EXPECT_TRUE(contains(rerun.out, "FAIL eval.classifier.q8_sym_ch.labelled: speedup: speedup ")) << rerun;
  EXPECT_TRUE(contains(rerun.out, "(stored result of ")) << rerun;
  EXPECT_EQ(count(rerun.out, "  FAIL "), 1) << rerun;
  // The report says the same.
  const std::string report = read_text(ws() / "report.md");
  EXPECT_TRUE(contains(report, "**FAIL** classifier, q8_sym_ch on labelled: speedup")) << report;

  // The skipped job's state keeps the times of the run that produced its result.
  const json skipped = read_json(ws() / "state/eval.classifier.q8_sym_ch.labelled.json");
  EXPECT_EQ(skipped["status"], "skipped");
  EXPECT_EQ(skipped["started"], state["started"]);
  EXPECT_EQ(skipped["finished"], state["finished"]);
  EXPECT_GE(skipped["skipped_at"].get<double>(), state["finished"].get<double>());
  const json convert = read_json(ws() / "state/convert.classifier.q8_sym_ch.json");
  EXPECT_GT(convert["started"].get<double>(), 0) << convert.dump(2);
  EXPECT_GT(convert["output_files"]["model.safetensors"].get<int64_t>(), 0) << convert.dump(2);
  const test::CliResult monitor = test::run_cli({"monitor", "--workspace", ws().string()});
  EXPECT_TRUE(contains(monitor.out, "2/2 jobs — 0 done, 2 skipped, 0 failed")) << monitor;

  // Passing gates: the same config without the strict floor passes again.
  write_config(kConfig);
  const test::CliResult relaxed = pipeline({"--models", "classifier"});
  EXPECT_EQ(relaxed.exit_code, 0) << relaxed;
  EXPECT_TRUE(contains(relaxed.out, "1 done, 1 skipped, 0 failed; 0 evaluation(s)")) << relaxed;
}

// Issue 10: --limit was not in the fingerprint (a full run after --limit kept
// the limited results), kept the first N rows (one label on a label-sorted
// file) and was missing from the dry run's eval commands; 0 and -5 ran in full.
TEST_F(PipelineCli, LimitSpreadsRowsAndIsPartOfTheFingerprint) {
  std::ofstream sorted(dir_.path() / "sorted.jsonl");
  for (int i = 0; i < 6; ++i)
    sorted << json({{"text", "sentence number " + std::to_string(i)},
                    {"label", i < 3 ? "LABEL_0" : "LABEL_1"}})
                  .dump()
           << "\n";
  sorted.close();
  std::string text = kConfig;
  text.replace(text.find("path: labelled.jsonl"), 20, "path: sorted.jsonl");
  write_config(text);

  const test::CliResult dry = pipeline({"--models", "classifier", "--limit", "2", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry;
  EXPECT_TRUE(contains(dry.out, "--dataset labelled --config " + config() + " --limit 2")) << dry;

  const test::CliResult quick = pipeline({"--models", "classifier", "--limit", "2"});
  ASSERT_EQ(quick.exit_code, 0) << quick;
  json run =
      read_json(ws() / "comparisons/classifier_comparison.json")["entries"][0]["comparison"]["baseline"];
  EXPECT_EQ(run["rows"], 2);
  // Both labels, not the first two rows' one.
  EXPECT_EQ(run["gold_counts"]["LABEL_0"], 1) << run["gold_counts"];
  EXPECT_EQ(run["gold_counts"]["LABEL_1"], 1) << run["gold_counts"];

  const test::CliResult full = pipeline({"--models", "classifier"});
  ASSERT_EQ(full.exit_code, 0) << full;
  EXPECT_TRUE(contains(full.out, "1 done, 1 skipped, 0 failed")) << full;  // the conversion is kept
  run = read_json(ws() / "comparisons/classifier_comparison.json")["entries"][0]["comparison"]["baseline"];
  EXPECT_EQ(run["rows"], 6);

  for (const char* bad : {"0", "-5"}) {
    const test::CliResult r = pipeline({"--limit", bad});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.err, std::string("--limit: must be at least 1, got ") + bad)) << r;
    EXPECT_EQ(r.out, "") << r;
  }
}

// Issue 10: duplicate quantization entries shared one job id, directory and state.
TEST_F(PipelineCli, DuplicateQuantizationsAreRefused) {
  std::string text = kConfig;
  text.replace(text.find("    benchmarks: [labelled]"), 0,
               "      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 2}\n");
  write_config(text);
  for (const char* flag : {"--dry-run", "--jobs=2"})
    test::expect_clean_failure(pipeline({flag}),
                               {config() + ":7", "model 'classifier'", "q8_sym_ch twice", config() + ":6"});
  EXPECT_FALSE(fs::exists(ws() / "models"));
}

// Issue 10: a deleted or truncated workspace model was never rebuilt.
TEST_F(PipelineCli, DeletedOrTruncatedWorkspaceModelIsRebuilt) {
  ASSERT_EQ(pipeline().exit_code, 0);
  const fs::path weights = ws() / "models/classifier_q8_sym_ch/model.safetensors";
  const auto size = fs::file_size(weights);
  fs::resize_file(weights, size / 2);

  const test::CliResult dry = pipeline({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry;
  EXPECT_TRUE(contains(dry.out,
                       "convert.classifier.q8_sym_ch  [run again: its output changed since it was "
                       "converted: " +
                           weights.string() + " is " + std::to_string(size / 2) + " bytes"))
      << dry;
  EXPECT_TRUE(contains(dry.out,
                       "eval.classifier.q8_sym_ch.labelled  [run again: convert.classifier.q8_sym_ch "
                       "runs again]"))
      << dry;
  EXPECT_TRUE(contains(dry.out, "convert.embedder.q8_sym_ch  [skip")) << dry;

  const test::CliResult rebuilt = pipeline();
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt;
  EXPECT_TRUE(contains(rebuilt.out, "2 done, 2 skipped, 0 failed")) << rebuilt;
  EXPECT_TRUE(contains(rebuilt.err, "done convert classifier q8_sym_ch")) << rebuilt;
  EXPECT_TRUE(contains(rebuilt.err, "done eval classifier q8_sym_ch labelled")) << rebuilt;
  EXPECT_EQ(fs::file_size(weights), size);
  EXPECT_TRUE(
      contains(read_text(ws() / "logs/conversion_classifier.log"), "rerun convert classifier q8_sym_ch: "))
      << read_text(ws() / "logs/conversion_classifier.log");

  fs::remove_all(ws() / "models/embedder_q8_sym_ch");
  const test::CliResult again = pipeline();
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_TRUE(contains(again.out, "2 done, 2 skipped, 0 failed")) << again;
  EXPECT_TRUE(fs::exists(ws() / "models/embedder_q8_sym_ch/model.safetensors"));
}

TEST_F(PipelineCli, UnavailableModelFailsLoudlyOthersStillRun) {
  const test::CliResult r = run_with_a_model_not_in_the_hub_cache("-t 1");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.out, "4 done, 0 skipped, 2 failed")) << r;
  EXPECT_TRUE(contains(r.out,
                       "FAIL convert.hub-only.q8_affine_g64: hub model 'org/not-downloaded' is not in the "
                       "Hugging Face cache"))
      << r;
  EXPECT_TRUE(contains(r.out, "FAIL eval.hub-only.q8_affine_g64.labelled: not evaluated")) << r;
  const test::CliResult monitor = test::run_cli({"monitor", "--workspace", ws().string()});
  EXPECT_EQ(monitor.exit_code, 1) << monitor;  // the run had failures
  EXPECT_TRUE(contains(monitor.out, "FAILED   convert.hub-only.q8_affine_g64")) << monitor;
}

// Issue 10: --dry-run exited 0 while jobs printed "cannot run".
TEST_F(PipelineCli, DryRunExitsOneWhenAJobCannotRun) {
  const test::CliResult r = run_with_a_model_not_in_the_hub_cache("--dry-run");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.out, "convert.hub-only.q8_affine_g64  [cannot run: hub model 'org/not-downloaded'"))
      << r;
  EXPECT_TRUE(contains(r.out, "# 2 of 6 job(s) cannot run")) << r;
  EXPECT_FALSE(fs::exists(ws() / "state")) << "a dry run must write nothing";
}

// Issue 12: online, a hub model not in the cache is fetched by the run itself;
// the dry run says so and fetches nothing.
TEST_F(PipelineCli, DryRunSaysAHubModelIsFetchedWhenItRuns) {
  const test::CliResult r = run_with_a_model_not_in_the_hub_cache("--dry-run", /*online=*/true);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(
      contains(r.out, "convert.hub-only.q8_affine_g64  [run, after fetching org/not-downloaded from the hub"))
      << r;
  EXPECT_TRUE(contains(r.out, "quantpipe convert --model org/not-downloaded ")) << r;
  EXPECT_FALSE(fs::exists(dir_.path() / "empty-hub")) << "a dry run fetches nothing";
}

// A hub that cannot be reached fails that model's jobs, naming the repo; the others still run.
TEST_F(PipelineCli, UnreachableHubFailsThatModelOnly) {
  const test::CliResult r = run_with_a_model_not_in_the_hub_cache("-t 1", /*online=*/true);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.out, "4 done, 0 skipped, 2 failed")) << r;
  EXPECT_TRUE(contains(r.out, "FAIL convert.hub-only.q8_affine_g64: [hub] org/not-downloaded@main: ")) << r;
}

TEST_F(PipelineCli, BadConfigAndEmptyWorkspaceAreClearErrors) {
  write_config("models:\n  - name: x\n    path: nowhere\n    task: nope\n");
  test::expect_clean_failure(pipeline(), {"pipeline.yaml:4", "task"});
  test::expect_clean_failure(test::run_cli({"monitor", "--workspace", (dir_.path() / "none").string()}),
                             {"run.json", "no pipeline run"});
}

// A zero-shot dataset (candidate labels + template) is scored with the NLI
// model's entailment logits, as the Hugging Face zero-shot pipeline does.
TEST_F(PipelineCli, ZeroShotDatasetRunsThroughTheNliModel) {
  fs::copy(dir_.path() / "classifier", dir_.path() / "nli", fs::copy_options::recursive);
  json config = read_json(dir_.path() / "nli/config.json");
  config["id2label"] = {{"0", "entailment"}, {"1", "neutral"}, {"2", "contradiction"}};
  config["label2id"] = {{"entailment", 0}, {"neutral", 1}, {"contradiction", 2}};
  std::ofstream(dir_.path() / "nli/config.json") << config.dump();
  std::ofstream(dir_.path() / "topics.jsonl") << R"({"text": "the cat sat on the mat", "label": "animals"})"
                                              << "\n"
                                              << R"({"text": "she can sing a song", "label": "music"})"
                                              << "\n";
  write_config(R"(models:
  - name: nli
    path: nli
    task: zero-shot
    quantization: {bits: 8, scheme: sym, per_channel: true, min_speedup: 0, min_agreement: 0}
    benchmarks: [topics]
datasets:
  - name: topics
    provider: local
    path: topics.jsonl
    metrics: [accuracy, agreement]
    candidate_labels: [animals, music]
    hypothesis_template: "This text is about {}."
)");
  const test::CliResult r = pipeline();
  // Random tiny weights sit near ties, so whether q8 flips a label (and the
  // collapse gate fails: exit 2) is not the point here; a job error (1) is.
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r;
  EXPECT_TRUE(contains(r.out, "0 failed;")) << r;
  const json run =
      read_json(ws() / "comparisons/nli_comparison.json")["entries"][0]["comparison"]["quantized"];
  EXPECT_EQ(run["task"], "zero-shot");
  EXPECT_EQ(run["gold_counts"], (json{{"animals", 1}, {"music", 1}}));
  EXPECT_EQ(run["rows"], 2);
  EXPECT_GT(run["tokens"].get<int>(), 0);
  EXPECT_EQ(run["predicted_counts"].size(), 2u);  // over the candidate labels, not the NLI labels
}

// Without ../shared the README's main command still runs the pipeline, on tiny
// models it generates, and prints the report.
TEST(CliDemo, RunsThePipelineOnGeneratedTinyModelsWithoutShared) {
  test::TempDir dir;
  const test::CliResult r =
      test::run_program({"/bin/bash", "-c",
                         "QUANTPIPE_SHARED_DIR=none exec '" + test::quantpipe_binary().string() +
                             "' demo -t 1 --workspace '" + dir.path().string() + "'"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "tiny generated models")) << r;
  EXPECT_TRUE(contains(r.out, "0 failed")) << r;
  EXPECT_TRUE(contains(r.out, "report: " + (dir.path() / "report.html").string())) << r;
  EXPECT_TRUE(fs::exists(dir.path() / "comparisons/tiny-classifier_comparison.json"));
  EXPECT_TRUE(fs::exists(dir.path() / "demo/demo.yaml"));
  // The report says the tiny models' numbers are not about quality (issue 11).
  EXPECT_TRUE(contains(r.out, "**Note:** random weights")) << r;
  EXPECT_TRUE(contains(read_text(dir.path() / "report.html"), "<strong>Note:</strong> random weights"));
}

// Issue 11: the demo's config notes that minilm-l6-nli is deliberately weak,
// so a newcomer does not take its 0.37 accuracy for a bug.
TEST(CliDemo, SharedConfigNotesTheWeakNliModel) {
  QP_REQUIRE_SHARED("models/minilm-l6-nli");
  test::TempDir dir;
  const test::CliResult r = test::run_program(
      {"/bin/bash", "-c",
       "QUANTPIPE_SHARED_DIR='" + test::shared_dir().string() + "' exec '" +
           test::quantpipe_binary().string() + "' demo --dry-run --workspace '" + dir.path().string() + "'"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const pipeline::PipelineConfig config =
      pipeline::load_pipeline_config({(dir.path() / "demo/demo.yaml").string()});
  ASSERT_EQ(config.models.size(), 3u);
  for (const pipeline::ModelConfig& m : config.models) {
    if (m.name != "minilm-l6-nli") {
      EXPECT_EQ(m.note, "") << m.name;
      continue;
    }
    EXPECT_TRUE(contains(m.note, "deliberately weak")) << m.note;
    EXPECT_TRUE(contains(m.note, "0.37")) << m.note;
    EXPECT_TRUE(contains(m.note, "majority class")) << m.note;
  }
}

}  // namespace
}  // namespace qp
