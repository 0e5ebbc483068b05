// Options and input handling that the model-running subcommands share.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "input_reader.h"
#include "quantpipe/model.h"

namespace qp::cli {

// Bounds of the size options. More than this is a typo or a runaway value:
// a batch of 1024 inputs already fills every core, and no encoder takes more
// than 65536 positions. Threads: qp::max_threads() (core/thread_pool.h).
inline constexpr int kMaxBatchSize = 1024;
inline constexpr int kMaxTokens = 65536;

struct ModelRunArgs {
  std::string model;
  std::string input;  // empty: stdin
  int threads = 0;
  int batch_size = 32;
  int max_length = 0;
  std::string dump_tensors;  // safetensors file for every named intermediate

  RunOptions run_options() const { return {batch_size, max_length}; }
};

// Checks that an integer option is at least `minimum`; the message reads
// "--batch-size: must be at least 1, got 0".
CLI::Validator at_least(int minimum);
// The same with an upper bound too: "--threads: must be at most 256, got 100000".
CLI::Validator in_range(int minimum, int maximum);
// 0 (all hardware threads) to qp::max_threads().
CLI::Validator thread_count();

inline constexpr const char* kTextInputHelp =
    "Input file (default: standard input): JSONL {\"text\", \"text_pair\"} when the first line starts with "
    "'{', else one text per line; lines up to 1 MiB";

// --model (required), --input (described by input_help), --threads, --batch-size, --max-length.
void add_model_run_options(CLI::App& app, ModelRunArgs& args, const std::string& input_help = kTextInputHelp);

// Runs fn; a qp::Error from it is re-thrown prefixed with "<source>:<line>: ".
template <typename Fn>
auto with_line_context(const std::string& source, int64_t line_number, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error& e) {
    fail(source, ":", line_number, ": ", e.what());
  }
}

// The truncation length for a model run: --max-length when given, else the
// model's default. Throws naming the flag when it is more than the model's
// positions (the forward pass could not take such a sequence).
int resolve_max_length(const Model& model, int requested);

// Tokenizes every record to at most max_length tokens, naming the input line
// of any failure; pre-tokenized records are taken as they are.
std::vector<Encoding> tokenize_records(const Model& model, const std::vector<InputRecord>& records,
                                       const std::string& source, int max_length);

// Counts results that hold NaN or infinite values. Such a row is still
// written (as null, with no label), so the user sees which; finish() then
// fails the run: a broken model must not look like a successful one.
class NonFiniteResults {
 public:
  explicit NonFiniteResults(std::string source) : source_(std::move(source)) {}
  void add(const InputRecord& record, bool finite);
  void finish() const;  // throws "<source>: N of M results hold NaN or infinite values (first at line L) ..."

 private:
  std::string source_;
  int64_t total_ = 0, bad_ = 0, first_line_ = 0;
};

}  // namespace qp::cli
