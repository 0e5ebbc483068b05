#include "run_options.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qp::cli {

CLI::Validator at_least(int minimum) {
  const auto check = [minimum](std::string& value) -> std::string {
    int parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size())
      return "expected an integer, got '" + value + "'";
    if (parsed < minimum) return "must be at least " + std::to_string(minimum) + ", got " + value;
    return {};
  };
  const std::string name = minimum == 0   ? "NONNEGATIVE"
                           : minimum == 1 ? "POSITIVE"
                                          : ">=" + std::to_string(minimum);
  return CLI::Validator(check, name);
}

void add_model_run_options(CLI::App& app, ModelRunArgs& args) {
  app.add_option("-m,--model", args.model, "Hugging Face model directory (or a quantpipe native directory)")
      ->required();
  app.add_option("-i,--input", args.input, "Input file (default: standard input)");
  app.add_option("-t,--threads", args.threads, "Worker threads (default: all cores)")->check(at_least(0));
  app.add_option("-b,--batch-size", args.batch_size, "Sequences per forward pass")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--max-length", args.max_length,
                 "Truncate to this many tokens (default: the tokenizer's setting, else 512)")
      ->check(at_least(0));
  app.add_option("--dump-tensors", args.dump_tensors,
                 "Write every named intermediate tensor (embeddings, each layer's attention and FFN "
                 "outputs, head) to this safetensors file, for layer-by-layer comparison");
}

std::string input_name(const std::string& path) { return path.empty() ? "<stdin>" : path; }

std::vector<InputLine> read_input_lines(const std::string& path) {
  std::ifstream file;
  if (!path.empty()) {
    if (std::filesystem::is_directory(path)) fail(path, ": is a directory, expected an input file");
    file.open(path, std::ios::binary);
    if (!file) fail(path, ": cannot open input file");
  }
  std::istream& in = path.empty() ? std::cin : file;
  std::vector<InputLine> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back({number, std::move(line)});
  }
  if (lines.empty()) fail(input_name(path), ": no input lines (the input is empty)");
  return lines;
}

TextInput parse_text_input(const InputLine& line, const std::string& source) {
  if (line.text.empty() || line.text.front() != '{') return {line.text, std::nullopt};
  const nlohmann::json json = nlohmann::json::parse(line.text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return {line.text, std::nullopt};
  const auto text = json.find("text");
  if (text == json.end() || !text->is_string())
    fail(source, ":", line.line_number, ": JSON line has no string field \"text\"");
  TextInput input{text->get<std::string>(), std::nullopt};
  if (const auto pair = json.find("text_pair"); pair != json.end() && !pair->is_null()) {
    if (!pair->is_string()) fail(source, ":", line.line_number, ": \"text_pair\" must be a string");
    input.text_pair = pair->get<std::string>();
  }
  return input;
}

std::vector<TextInput> lines_as_texts(const std::vector<InputLine>& lines) {
  std::vector<TextInput> texts;
  texts.reserve(lines.size());
  for (const InputLine& line : lines) texts.push_back({line.text, std::nullopt});
  return texts;
}

int resolve_max_length(const Model& model, int requested) {
  if (requested <= 0) return model.default_max_length();
  const int positions = model.info().max_positions;
  if (requested > positions)
    fail("--max-length ", requested, " is more than the ", positions,
         " tokens the model takes (max_position_embeddings in ",
         (model.path() / "config.json").string(), ")");
  return requested;
}

std::vector<Encoding> tokenize_lines(const Tokenizer& tokenizer, const std::vector<InputLine>& lines,
                                     const std::vector<TextInput>& inputs, const std::string& source,
                                     int max_length) {
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    encodings.push_back(with_line_context(source, lines[i].line_number,
                                          [&] { return encode_input(tokenizer, inputs[i], max_length); }));
  return encodings;
}

}  // namespace qp::cli
