// Crash-safe outputs (issue 21): `convert`, `pipeline` and `download` are
// killed with SIGKILL at about twenty points each, and after every kill
//  - an earlier good output is still whole (the same bytes, or for the
//    pipeline's workspace, every file still parses),
//  - no half-written file stands under a final name (temporary names
//    "<name>.tmp-*", "<dir>.old-*" and "<blob>.incomplete" may stay behind),
//  - the output's readers still work: `monitor` reads the workspace, an
//    offline run finds a complete hub snapshot,
//  - and the next run completes and replaces what the killed one left
//    (a complete run leaves none of those temporary names).
// The points are quantpipe's own kill points (core/kill_point.h): every
// chunk written to a temporary file, every rename into place, directory swap
// and downloaded blob. A counting run (QUANTPIPE_KILL_TRACE) lists them; the
// sweep takes twenty spread over the run plus every directory-swap step, and
// each kill run stops at one of them (QUANTPIPE_KILL_AT=N) with a real SIGKILL.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/fake_hub.h"
#include "cli_runner.h"
#include "io/safetensors.h"
#include "models/tiny_model.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kSpreadPoints = 20;

struct KillPoint {
  long long n = 0;
  std::string name, path;
};

std::string describe(const KillPoint& p) {
  return "kill point " + std::to_string(p.n) + " (" + p.name + " " + p.path + ")";
}

// `argv` with environment variables set in front (through /usr/bin/env).
std::vector<std::string> with_env(const std::vector<std::string>& env, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"/usr/bin/env"};
  full.insert(full.end(), env.begin(), env.end());
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// Runs `argv` to completion with a kill-point trace and returns the points it passed.
std::vector<KillPoint> trace_points(const std::vector<std::string>& env, const std::vector<std::string>& argv,
                                    const fs::path& trace) {
  fs::remove(trace);
  std::vector<std::string> traced = env;
  traced.push_back("QUANTPIPE_KILL_TRACE=" + trace.string());
  const CliResult r = run_program(with_env(traced, argv));
  EXPECT_EQ(r.exit_code, 0) << "the counting run failed: " << r;
  std::vector<KillPoint> points;
  std::ifstream in(trace);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    KillPoint p;
    fields >> p.n >> p.name;
    std::getline(fields >> std::ws, p.path);
    points.push_back(p);
  }
  return points;
}

// Twenty points spread evenly over the run (the last included), plus every
// step of a directory swap, where a kill is most likely to hurt.
std::vector<KillPoint> choose_points(const std::vector<KillPoint>& all) {
  std::set<size_t> chosen;
  for (int i = 1; i <= kSpreadPoints; ++i)
    chosen.insert((all.size() * static_cast<size_t>(i) + kSpreadPoints - 1) / kSpreadPoints - 1);
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].name.rfind("dir.", 0) == 0) chosen.insert(i);
  std::vector<KillPoint> points;
  for (size_t i : chosen)
    if (i < all.size()) points.push_back(all[i]);
  return points;
}

// Runs `argv` killed at `point`; a run that ends on its own would mean the
// points moved between runs and the test no longer tests what it says.
void run_killed_at(const std::vector<std::string>& env, const std::vector<std::string>& argv,
                   const KillPoint& point) {
  std::vector<std::string> killed = env;
  killed.push_back("QUANTPIPE_KILL_AT=" + std::to_string(point.n));
  const CliResult r = run_program(with_env(killed, argv));
  ASSERT_EQ(r.term_signal, SIGKILL) << describe(point) << " was not reached: " << r;
}

bool is_leftover_name(const std::string& name) {
  return name.find(".tmp-") != std::string::npos || name.find(".old-") != std::string::npos ||
         name.find(".incomplete") != std::string::npos || name.find(".tmp-link") != std::string::npos;
}

// Regular files under `root` by relative path (symlinks followed), leftovers
// of killed runs (temporary names) left out.
std::map<std::string, std::string> files_under(const fs::path& root) {
  std::map<std::string, std::string> files;
  if (!fs::exists(root)) return files;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (is_leftover_name(it->path().filename().string())) {
      if (it->is_directory() && !it->is_symlink()) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_regular_file(it->path()))
      files[it->path().lexically_relative(root).string()] = read_bytes(it->path());
  }
  return files;
}

// Each file's size and a hash of its bytes: what the comparisons below need,
// and short enough to print when they fail.
std::map<std::string, std::string> digests(const std::map<std::string, std::string>& files) {
  std::map<std::string, std::string> out;
  for (const auto& [name, bytes] : files)
    out[name] = std::to_string(bytes.size()) + " bytes #" + std::to_string(std::hash<std::string>{}(bytes));
  return out;
}

// A conversion's files with what differs between two identical runs (the
// timings in quantpipe.json) taken out.
std::map<std::string, std::string> comparable(std::map<std::string, std::string> files) {
  for (auto& [name, bytes] : files) {
    if (fs::path(name).extension() != ".json") continue;
    json doc = json::parse(bytes, nullptr, false);
    if (doc.is_object()) doc.erase("timings");
    bytes = doc.dump();
  }
  return digests(files);
}

// Names in `dir` that only a killed run may leave.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ---------------------------------------------------------------- convert

class CrashSafety : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CrashSafety, KilledConvertNeverDamagesTheEarlierOutput) {
  const fs::path model = dir_.path() / "model";
  write_tiny_bert(model, {.hidden = 64, .layers = 2, .intermediate = 128, .num_labels = 3});
  const fs::path out = dir_.path() / "out";
  const std::string binary = quantpipe_binary().string();
  const std::vector<std::string> earlier = {binary,       "convert", "-m", model.string(), "-o",
                                            out.string(), "--bits",  "8",  "--force"};
  const std::vector<std::string> replacing = {binary,         "convert",    "-m",          model.string(),
                                              "-o",           out.string(), "--bits",      "4",
                                              "--group-size", "32",         "--emit-fp16", "--force"};
  // The two complete outputs a kill may leave at `out`: the earlier one or the new one.
  ASSERT_EQ(run_program(replacing).exit_code, 0);
  const auto new_output = comparable(files_under(out));
  ASSERT_EQ(run_program(earlier).exit_code, 0);
  const auto good_output = comparable(files_under(out));
  ASSERT_NE(good_output, new_output);

  const std::vector<KillPoint> all = trace_points({}, replacing, dir_.path() / "trace");
  ASSERT_GE(all.size(), 20u) << "too few kill points to spread twenty";
  const std::vector<KillPoint> points = choose_points(all);
  EXPECT_GE(points.size(), 20u);
  size_t kept_earlier = 0, got_new = 0;
  for (const KillPoint& point : points) {
    SCOPED_TRACE(describe(point));
    ASSERT_EQ(run_program(earlier).exit_code, 0);  // the good output the kill must not damage
    run_killed_at({}, replacing, point);
    const auto after_kill = comparable(files_under(out));
    if (after_kill == good_output)
      ++kept_earlier;
    else if (after_kill == new_output)
      ++got_new;
    else
      ADD_FAILURE() << "after the kill " << out << " is neither the earlier output nor the complete new one";
    for (const std::string& name : names_in(dir_.path()))
      EXPECT_TRUE(name == "model" || name == "out" || name == "trace" || name.rfind("out.tmp-", 0) == 0 ||
                  name.rfind("out.old-", 0) == 0)
          << "unexpected " << name;
    // The next run tidies what the killed one left and completes.
    const CliResult again = run_program(replacing);
    ASSERT_EQ(again.exit_code, 0) << again;
    EXPECT_EQ(comparable(files_under(out)), new_output);
    EXPECT_EQ(names_in(dir_.path()), (std::vector<std::string>{"model", "out", "trace"}));
  }
  std::cout << "convert: " << all.size() << " kill points, " << points.size()
            << " killed runs: " << kept_earlier << " kept the earlier output, " << got_new
            << " left the new one\n";
  // Both outcomes were met: kills before and after the swap into place.
  EXPECT_GT(kept_earlier, 0u);
  EXPECT_GT(got_new, 0u);
}

// ---------------------------------------------------------------- pipeline

// A workspace file that a reader would take for finished is whole: JSON
// parses, every JSON-lines line parses, safetensors headers match the file,
// the HTML report is closed.
void expect_whole(const fs::path& root, const std::string& name, const std::string& bytes) {
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".json") {
    EXPECT_FALSE(json::parse(bytes, nullptr, false).is_discarded()) << name << " is not whole JSON";
  } else if (ext == ".jsonl") {
    for (const std::string& line : split_lines(bytes))
      EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << name << ": a line is cut: " << line;
  } else if (ext == ".safetensors") {
    EXPECT_NO_THROW(SafetensorsFile file(root / name)) << name;
  } else if (ext == ".html") {
    EXPECT_NE(bytes.find("</html>"), std::string::npos) << name << " is cut short";
  } else if (ext == ".md") {
    EXPECT_FALSE(bytes.empty()) << name;
  }
}

TEST_F(CrashSafety, KilledPipelineLeavesAReadableWorkspace) {
  TinyBertSpec spec;
  spec.hidden = 64;
  spec.intermediate = 128;
  spec.num_labels = 3;
  write_tiny_bert(dir_.path() / "classifier", spec);
  {
    std::ofstream labelled(dir_.path() / "labelled.jsonl");
    const char* texts[] = {"the cat sat on the mat",    "a dog runs in the park", "we went to the city",
                           "the man is playing a game", "it is a good day",       "she reads a book"};
    for (int i = 0; i < 6; ++i)
      labelled << json({{"text", texts[i]}, {"label", "LABEL_" + std::to_string(i % 3)}}).dump() << "\n";
    std::ofstream(dir_.path() / "pipeline.yaml") << R"(models:
  - name: classifier
    path: classifier
    task: classification
    quantization:
      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 0, max_accuracy_drop: 1}
      - {bits: 4, group_size: 32, min_speedup: 0, min_agreement: 0, min_cosine: 0}
    benchmarks: [labelled]
datasets:
  - {name: labelled, provider: local, path: labelled.jsonl, metrics: [accuracy]}
)";
  }
  const fs::path ws = dir_.path() / "ws";
  const std::vector<std::string> run = {quantpipe_binary().string(),
                                        "pipeline",
                                        "--config",
                                        (dir_.path() / "pipeline.yaml").string(),
                                        "--workspace",
                                        ws.string(),
                                        "-t",
                                        "1",
                                        "--speed-rounds",
                                        "1"};
  std::vector<std::string> rerun_all = run;
  rerun_all.push_back("--no-skip");

  const CliResult first = run_program(run);
  ASSERT_EQ(first.exit_code, 0) << first;
  const auto good = files_under(ws);
  const json verdicts = json::parse(good.at("comparisons/classifier_comparison.json"))["entries"];

  const std::vector<KillPoint> all = trace_points({}, rerun_all, dir_.path() / "trace");
  ASSERT_GE(all.size(), 20u);
  const std::vector<KillPoint> points = choose_points(all);
  std::cout << "pipeline: " << all.size() << " kill points, " << points.size() << " killed runs\n";
  for (const KillPoint& point : points) {
    SCOPED_TRACE(describe(point));
    run_killed_at({}, rerun_all, point);
    const auto after_kill = files_under(ws);
    for (const auto& [name, bytes] : good)
      EXPECT_TRUE(after_kill.count(name) || name.rfind("logs/", 0) == 0) << name << " is gone";
    for (const auto& [name, bytes] : after_kill) expect_whole(ws, name, bytes);
    const CliResult monitor = run_cli({"monitor", "--workspace", ws.string()});
    EXPECT_EQ(monitor.exit_code, 0) << monitor;
    EXPECT_TRUE(contains(monitor.out, "stopped (its process is gone)") ||
                contains(monitor.out, "finished after"))
        << monitor;
  }
  // The next run finishes what the killed ones left, with the same verdicts.
  const CliResult last = run_program(run);
  ASSERT_EQ(last.exit_code, 0) << last;
  const json after = json::parse(read_bytes(ws / "comparisons/classifier_comparison.json"))["entries"];
  ASSERT_EQ(after.size(), verdicts.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i]["passed"], verdicts[i]["passed"]);
    EXPECT_EQ(after[i]["comparison"]["quantized"]["metrics"],
              verdicts[i]["comparison"]["quantized"]["metrics"]);
  }
  for (const auto& [name, bytes] : files_under(ws)) expect_whole(ws, name, bytes);
  // A full rerun writes every file again, and each write first removes the
  // temporary file that killed writers of that file left.
  const CliResult full = run_program(rerun_all);
  ASSERT_EQ(full.exit_code, 0) << full;
  for (const auto& entry : fs::recursive_directory_iterator(ws))
    EXPECT_FALSE(is_leftover_name(entry.path().filename().string()))
        << entry.path() << " still stands after a complete run";
}

// ---------------------------------------------------------------- download

// A newer commit of the repo is downloaded over an earlier complete snapshot.
TEST_F(CrashSafety, KilledDownloadNeverPassesForACompleteSnapshot) {
  FakeHub hub;
  write_tiny_bert(dir_.path() / "v1", {.hidden = 64, .intermediate = 128, .sentence_transformer = true});
  write_tiny_bert(dir_.path() / "v2",
                  {.hidden = 64, .intermediate = 128, .sentence_transformer = true, .seed = 99});
  hub.add_repo_from_dir("org/model", dir_.path() / "v1");
  const std::string sha1 = hub.repos["org/model"].sha;
  const std::map<std::string, std::string> v1_files = digests(hub.repos["org/model"].files);

  const fs::path home = dir_.path() / "hf";
  const std::vector<std::string> env = hub.client_env(home);
  const std::vector<std::string> download = {quantpipe_binary().string(), "download", "org/model"};
  ASSERT_EQ(run_program(with_env(env, download)).exit_code, 0);
  const fs::path good_home = dir_.path() / "hf-v1";
  fs::copy(home, good_home, fs::copy_options::recursive | fs::copy_options::copy_symlinks);

  // The new commit: other weights, other config.
  const std::string sha2 = "89abcdef0123456789abcdef0123456789abcdef";
  hub.add_repo_from_dir("org/model", dir_.path() / "v2");
  {
    std::lock_guard lock(hub.mutex_);
    hub.repos["org/model"].sha = sha2;
  }
  const std::map<std::string, std::string> v2_files = digests(hub.repos["org/model"].files);
  ASSERT_NE(v1_files.at("model.safetensors"), v2_files.at("model.safetensors"));
  const fs::path repo = home / "hub" / "models--org--model";

  const std::vector<KillPoint> all = trace_points(env, download, dir_.path() / "trace");
  ASSERT_GE(all.size(), 20u);
  const std::vector<KillPoint> points = choose_points(all);
  size_t complete_new = 0;
  for (const KillPoint& point : points) {
    SCOPED_TRACE(describe(point));
    fs::remove_all(home);
    fs::copy(good_home, home, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    run_killed_at(env, download, point);

    // The earlier snapshot is untouched, file for file.
    EXPECT_EQ(digests(files_under(repo / "snapshots" / sha1)), v1_files);
    // Whatever of the new snapshot is linked is whole, and with config.json it is complete.
    const auto v2_linked = digests(files_under(repo / "snapshots" / sha2));
    for (const auto& [name, bytes] : v2_linked)
      EXPECT_EQ(bytes, v2_files.at(name)) << name << " is linked but not whole";
    if (v2_linked.count("config.json")) {
      EXPECT_EQ(v2_linked, v2_files);
      ++complete_new;
    }
    // Every blob under its final name is a whole file of one of the commits.
    for (const auto& [name, bytes] : digests(files_under(repo / "blobs"))) {
      const auto is_it = [&](const auto& kv) { return kv.second == bytes; };
      EXPECT_TRUE(std::any_of(v1_files.begin(), v1_files.end(), is_it) ||
                  std::any_of(v2_files.begin(), v2_files.end(), is_it))
          << "blob " << name << " is half-written";
    }
    // Offline, the cache hands out a complete snapshot: the earlier one, or the new one once whole.
    std::vector<std::string> offline_env = env;
    offline_env.push_back("HF_HUB_OFFLINE=1");
    const CliResult offline = run_program(with_env(offline_env, download));
    ASSERT_EQ(offline.exit_code, 0) << offline;
    const fs::path served = split_lines(offline.out).at(0);
    EXPECT_EQ(digests(files_under(served)), served.filename() == sha2 ? v2_files : v1_files);

    // The next run resumes and completes the new snapshot.
    const CliResult again = run_program(with_env(env, download));
    ASSERT_EQ(again.exit_code, 0) << again;
    EXPECT_EQ(digests(files_under(repo / "snapshots" / sha2)), v2_files);
    EXPECT_EQ(read_bytes(repo / "refs" / "main"), sha2);
  }
  std::cout << "download: " << all.size() << " kill points, " << points.size() << " killed runs, "
            << complete_new << " after the new snapshot was complete\n";
  EXPECT_GT(complete_new, 0u);
}

}  // namespace
}  // namespace qp::test
