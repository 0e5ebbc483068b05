// Options and input handling that the model-running subcommands share.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "quantpipe/model.h"

namespace qp::cli {

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

// --model (required), --input, --threads, --batch-size, --max-length.
void add_model_run_options(CLI::App& app, ModelRunArgs& args);

struct InputLine {
  int line_number;  // 1-based
  std::string text;
};

// Lines of --input (or stdin). Throws "<file>: no input lines" when there are none.
std::vector<InputLine> read_input_lines(const std::string& path);
std::string input_name(const std::string& path);  // the path, or "<stdin>"

// A line that parses as a JSON object {"text", "text_pair"?} is that; any other
// line is the text itself.
TextInput parse_text_input(const InputLine& line, const std::string& source);

// Raw lines as texts (embed): every line is a text.
std::vector<TextInput> lines_as_texts(const std::vector<InputLine>& lines);

// Runs fn; a qp::Error from it is re-thrown prefixed with "<source>:<line>: ".
template <typename Fn>
auto with_line_context(const std::string& source, int line_number, Fn&& fn) -> decltype(fn()) {
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

// Tokenizes every input to at most max_length tokens, naming the input line
// of any failure.
std::vector<Encoding> tokenize_lines(const Tokenizer& tokenizer, const std::vector<InputLine>& lines,
                                     const std::vector<TextInput>& inputs, const std::string& source,
                                     int max_length);

}  // namespace qp::cli
