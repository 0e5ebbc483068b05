// Tokens per second on one thread for WordPiece, BPE and Unigram tokenizers of
// ../shared/tokenizers over the ../shared/data texts (genre texts, MNLI
// premises and hypotheses, SST-2 sentences). hf_tokenizer_speed.py measures
// the Hugging Face tokenizers library on the same texts; compare.sh runs both.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quantpipe/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path shared_dir() {
  if (const char* env = std::getenv("QUANTPIPE_SHARED_DIR")) return env;
  return fs::path(QUANTPIPE_SOURCE_DIR).parent_path() / "shared";
}

// The texts hf_tokenizer_speed.py reads too, in the same order.
const std::vector<std::string>& texts() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    std::ifstream genre(shared_dir() / "data/genre/dev_a.jsonl");
    for (std::string line; std::getline(genre, line);) out.push_back(nlohmann::json::parse(line).at("text"));
    std::ifstream mnli(shared_dir() / "data/mnli/dev_a.jsonl");
    for (std::string line; std::getline(mnli, line);) {
      const auto row = nlohmann::json::parse(line);
      out.push_back(row.at("premise"));
      out.push_back(row.at("hypothesis"));
    }
    std::ifstream sst2(shared_dir() / "data/sst2/dev.tsv");
    std::string line;
    std::getline(sst2, line);  // header
    while (std::getline(sst2, line)) out.push_back(line.substr(0, line.find('\t')));
    return out;
  }();
  return all;
}

void encode_all(benchmark::State& state, const char* name) {
  const fs::path dir = shared_dir() / "tokenizers" / name;
  if (!fs::exists(dir) || texts().empty()) {
    state.SkipWithError("../shared/tokenizers or ../shared/data is absent");
    return;
  }
  const qp::Tokenizer tokenizer = qp::Tokenizer::from_dir(dir);
  int64_t tokens = 0;
  for (auto _ : state) {
    for (const std::string& text : texts()) {
      const qp::Encoding e = tokenizer.encode(text, std::nullopt, 100000);
      tokens += static_cast<int64_t>(e.input_ids.size());
      benchmark::DoNotOptimize(e.input_ids.data());
    }
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["texts"] = static_cast<double>(texts().size());
}

BENCHMARK_CAPTURE(encode_all, WordPiece_all_MiniLM_L6_v2, "all-MiniLM-L6-v2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_all, BPE_roberta_large_mnli, "roberta-large-mnli")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_all, BPE_ModernBERT_large, "ModernBERT-large")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_all, Unigram_deberta_v3_base, "deberta-v3-base")->Unit(benchmark::kMillisecond);

}  // namespace
