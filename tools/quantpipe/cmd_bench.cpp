// quantpipe bench: sentences/s, tokens/s and per-batch latency of embedding,
// like llama-bench: one row per configuration, after warm-up, median ± stdev
// over runs. Tokenization happens once before timing; what is timed is the
// forward pass, pooling and normalisation.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "command.h"
#include "core/build_info.h"
#include "core/cpu_isa.h"
#include "core/log.h"
#include "core/profiler.h"
#include "core/thread_pool.h"
#include "eval/stats.h"
#include "example_texts.h"
#include "quantpipe/heap_tuning.h"
#include "run_options.h"

namespace qp::cli {
namespace {

// Beyond these a benchmark only runs out of memory or time.
constexpr int kMaxSequences = 1 << 20;
constexpr int kMaxRuns = 10000;

struct BenchArgs {
  std::string model, input;
  std::vector<int> threads{1};
  int batch_size = 32;
  int max_length = 0;
  int seq_len = 0;      // > 0: synthetic sequences of exactly this many tokens
  int sequences = 128;  // how many, with --seq-len
  int runs = 5;
  int warmup = 1;
  bool json = false;
  bool profile = false;
};

struct BenchRow {
  std::string model, format;
  int threads = 0, batch = 0, seq_len = 0;
  size_t sentences = 0, tokens = 0;
  SampleStats run_seconds, batch_ms;
  long long peak_rss = 0;
  long long rss_before_load = 0;  // the process just before Model::load
  long long load_peak_rss = 0;    // the peak while loading (mapped file, unpacked codes, repacked copies)
  long long rss_after_load = 0;   // what the loaded model keeps
  double load_ms = 0;             // Model::load: map, check, repack
  std::vector<profile::Entry> profile;  // totals over the timed runs (--profile)
  double timed_seconds = 0;
  int runs = 0;
};

// Where the threads' time went, per timed run: each op's thread-time, its
// share of threads × wall time, and what no scope claimed.
nlohmann::json profile_json(const BenchRow& r) {
  nlohmann::json ops = nlohmann::json::array();
  const double thread_seconds = r.timed_seconds * r.threads;
  double claimed = 0;
  for (const profile::Entry& e : r.profile) {
    claimed += e.seconds;
    ops.push_back({{"op", std::string(profile::op_name(e.op))},
                   {"ms_per_run", e.seconds * 1e3 / r.runs},
                   {"share", e.seconds / thread_seconds},
                   {"calls_per_run", static_cast<double>(e.calls) / r.runs}});
  }
  ops.push_back({{"op", "unclaimed (serial parts, other threads asleep)"},
                 {"ms_per_run", (thread_seconds - claimed) * 1e3 / r.runs},
                 {"share", (thread_seconds - claimed) / thread_seconds},
                 {"calls_per_run", 0}});
  return ops;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `count` encodings of exactly `length` tokens: the texts run together and
// cut, so the token mix is realistic while every sequence has the same length.
std::vector<Encoding> fixed_length_encodings(const Model& model, const std::vector<TextInput>& texts,
                                             int length, int count) {
  std::string long_text;
  size_t previous_tokens = 0;
  while (true) {
    for (const TextInput& t : texts) long_text += t.text + " ";
    const Encoding e = model.tokenize({{long_text, std::nullopt}}, length).front();
    if (static_cast<int>(e.input_ids.size()) >= length) return std::vector<Encoding>(count, e);
    // Texts with no tokens (blank lines) would loop forever.
    if (e.input_ids.size() <= previous_tokens)
      fail("--seq-len ", length, ": the input texts give no tokens to fill a sequence with");
    previous_tokens = e.input_ids.size();
  }
}

BenchRow bench_one(const BenchArgs& args, int threads, const std::vector<TextInput>& texts) {
  // Each row's memory is its own: the previous row's model and freed heap are
  // gone, and the peak starts over from here.
  release_freed_memory();
  reset_peak_rss();
  const long long rss_before_load = current_rss_bytes();
  const std::filesystem::path source = resolve_model_source(args.model);
  const auto load_start = std::chrono::steady_clock::now();
  const Model model = Model::load(source, {threads});
  const double load_ms = seconds_since(load_start) * 1e3;
  const long long load_peak_rss = peak_rss_bytes();
  const long long rss_after_load = current_rss_bytes();
  reset_peak_rss();  // from here on the peak is inference's
  const std::vector<Encoding> encodings =
      args.seq_len > 0
          ? fixed_length_encodings(model, texts, resolve_max_length(model, args.seq_len), args.sequences)
          : model.tokenize(texts, resolve_max_length(model, args.max_length));
  BenchRow row;
  row.model = std::filesystem::path(args.model).filename().string();
  row.format = model.weight_format();
  row.threads = model.threads();
  row.batch = args.batch_size;
  row.seq_len = args.seq_len;
  row.sentences = encodings.size();
  for (const Encoding& e : encodings) row.tokens += e.input_ids.size();
  row.rss_before_load = rss_before_load;
  row.load_peak_rss = load_peak_rss;
  row.rss_after_load = rss_after_load;
  row.load_ms = load_ms;
  std::vector<double> run_seconds, batch_ms;
  profile::set_enabled(args.profile);
  for (int run = 0; run < args.warmup + args.runs; ++run) {
    if (run == args.warmup) profile::reset();
    const auto run_start = std::chrono::steady_clock::now();
    for (size_t begin = 0; begin < encodings.size(); begin += args.batch_size) {
      const auto slice =
          std::span(encodings).subspan(begin, std::min<size_t>(args.batch_size, encodings.size() - begin));
      const auto batch_start = std::chrono::steady_clock::now();
      model.embed_encodings(slice, args.batch_size);
      if (run >= args.warmup) batch_ms.push_back(seconds_since(batch_start) * 1e3);
    }
    if (run >= args.warmup) run_seconds.push_back(seconds_since(run_start));
    log_info("bench ", row.model, " threads=", row.threads, " run ", run + 1, "/", args.warmup + args.runs,
             run < args.warmup ? " (warm-up)" : "", ": ", seconds_since(run_start), " s");
  }
  if (args.profile) row.profile = profile::snapshot();
  profile::set_enabled(false);
  row.run_seconds = summarize(run_seconds);
  row.timed_seconds = std::accumulate(run_seconds.begin(), run_seconds.end(), 0.0);
  row.runs = static_cast<int>(run_seconds.size());
  row.batch_ms = summarize(batch_ms);
  row.peak_rss = peak_rss_bytes();
  return row;
}

nlohmann::json row_json(const BenchRow& r) {
  const double sps = r.sentences / r.run_seconds.median, tps = r.tokens / r.run_seconds.median;
  nlohmann::json row = {
      {"model", r.model},
      {"format", r.format},
      {"isa", std::string(isa_name(active_isa()))},
      {"threads", r.threads},
      {"batch_size", r.batch},
      {"seq_len", r.seq_len > 0 ? nlohmann::json(r.seq_len) : nlohmann::json("varied")},
      {"sentences", r.sentences},
      {"tokens", r.tokens},
      {"seconds_median", r.run_seconds.median},
      {"seconds_stdev", r.run_seconds.stdev},
      {"sentences_per_s", sps},
      {"sentences_per_s_stdev", sps * r.run_seconds.stdev / r.run_seconds.median},
      {"tokens_per_s", tps},
      {"batch_latency_ms", {{"p50", r.batch_ms.p50}, {"p95", r.batch_ms.p95}, {"p99", r.batch_ms.p99}}},
      {"peak_rss_mib", static_cast<double>(r.peak_rss) / (1 << 20)},
      {"model_peak_rss_mib", static_cast<double>(r.peak_rss - r.rss_before_load) / (1 << 20)},
      {"model_loaded_rss_mib", static_cast<double>(r.rss_after_load - r.rss_before_load) / (1 << 20)},
      {"load_peak_rss_mib", static_cast<double>(r.load_peak_rss - r.rss_before_load) / (1 << 20)},
      {"load_ms", r.load_ms},
      {"commit", kGitCommit}};
  if (!r.profile.empty()) row["profile"] = profile_json(r);
  return row;
}

void print_markdown(const std::vector<nlohmann::json>& rows) {
  std::cout
      << "| model | format | isa | threads | batch | seq | sentences | tokens | sentences/s | tokens/s | "
         "batch p50 ms | p95 ms | p99 ms | peak RSS MiB | model peak MiB | load ms |\n"
      << "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
      << std::fixed;
  for (const auto& r : rows) {
    std::cout << "| " << r["model"].get<std::string>() << " | " << r["format"].get<std::string>() << " | "
              << r["isa"].get<std::string>() << " | " << r["threads"] << " | " << r["batch_size"] << " | "
              << (r["seq_len"].is_string() ? r["seq_len"].get<std::string>() : r["seq_len"].dump()) << " | "
              << r["sentences"] << " | " << r["tokens"] << " | " << std::setprecision(1)
              << r["sentences_per_s"].get<double>() << " ± " << r["sentences_per_s_stdev"].get<double>()
              << " | " << std::setprecision(0) << r["tokens_per_s"].get<double>() << " | "
              << std::setprecision(2) << r["batch_latency_ms"]["p50"].get<double>() << " | "
              << r["batch_latency_ms"]["p95"].get<double>() << " | "
              << r["batch_latency_ms"]["p99"].get<double>() << " | " << std::setprecision(1)
              << r["peak_rss_mib"].get<double>() << " | " << r["model_peak_rss_mib"].get<double>() << " | "
              << r["load_ms"].get<double>() << " |\n";
  }
  for (const auto& r : rows) {
    if (!r.contains("profile")) continue;
    std::cout << "\nprofile: " << r["model"].get<std::string>() << " " << r["format"].get<std::string>()
              << " " << r["isa"].get<std::string>() << ", " << r["threads"] << " thread(s), batch "
              << r["batch_size"]
              << "\n\n| op | ms per run | share of thread time | calls per run |\n|---|--:|--:|--:|\n";
    for (const auto& op : r["profile"])
      std::cout << "| " << op["op"].get<std::string>() << " | " << std::setprecision(2)
                << op["ms_per_run"].get<double>() << " | " << std::setprecision(1)
                << 100.0 * op["share"].get<double>() << "% | " << std::setprecision(0)
                << op["calls_per_run"].get<double>() << " |\n";
  }
  std::cout
      << "\ncommit " << kGitCommit << "; timed: forward + pooling (tokenization excluded); "
      << "peak RSS: the whole process during inference; model peak: the same above the process just before "
      << "loading the model (the load's own peak is load_peak_rss_mib in --json); "
      << "median over runs after warm-up\n";
}

}  // namespace

Action configure_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  app.add_option("-m,--model", args->model, "Model directory")->required();
  app.add_option("-i,--input", args->input, "Texts, one per line (default: built-in example sentences)");
  app.add_option("-t,--threads", args->threads,
                 "Thread counts to measure, e.g. --threads 1,2 (0: all cores; at most " +
                     std::to_string(max_threads()) + ")")
      ->delimiter(',')
      ->capture_default_str()
      ->check(thread_count());
  app.add_option("-b,--batch-size", args->batch_size, "Sequences per forward pass")
      ->capture_default_str()
      ->check(in_range(1, kMaxBatchSize));
  app.add_option("--max-length", args->max_length, "Truncate to this many tokens")
      ->check(in_range(0, kMaxTokens));
  app.add_option("--seq-len", args->seq_len,
                 "Synthetic sequences of exactly N tokens (cut from the texts) instead of one per text")
      ->check(in_range(0, kMaxTokens));
  app.add_option("--sequences", args->sequences, "How many sequences with --seq-len")
      ->capture_default_str()
      ->check(in_range(1, kMaxSequences));
  app.add_option("--runs", args->runs, "Timed runs over the whole input")
      ->capture_default_str()
      ->check(in_range(1, kMaxRuns));
  app.add_option("--warmup", args->warmup, "Untimed warm-up runs")
      ->capture_default_str()
      ->check(in_range(0, kMaxRuns));
  app.add_flag("--json", args->json, "Print JSON rows instead of a Markdown table");
  app.add_flag("--profile", args->profile,
               "Also time each op of the forward pass (GEMMs by role, attention, norms, activation "
               "quantization, thread idle) over the timed runs");
  return [args] {
    std::vector<TextInput> texts;
    if (args->input.empty()) {
      for (const std::string& s : example_sentences()) texts.push_back({s, std::nullopt});
    } else {
      texts = read_all_texts(args->input);
    }
    std::vector<nlohmann::json> rows;
    for (int threads : args->threads) rows.push_back(row_json(bench_one(*args, threads, texts)));
    if (args->json)
      std::cout << nlohmann::json(rows).dump(2) << "\n";
    else
      print_markdown(rows);
    return 0;
  };
}

}  // namespace qp::cli
