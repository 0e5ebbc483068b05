// quantpipe tokenize: JSONL {"text", "text_pair"} or plain lines → JSONL
// {"input_ids", "token_type_ids"}, no padding.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "run_options.h"

namespace qp::cli {

Action configure_tokenize(CLI::App& app) {
  struct Args {
    std::string model, input;
    int max_length = 0;
  };
  auto args = std::make_shared<Args>();
  app.add_option("-m,--model", args->model, "Model directory holding tokenizer.json (or vocab.txt)")
      ->required();
  app.add_option("-i,--input", args->input, "Input file (default: standard input)");
  app.add_option("--max-length", args->max_length, "Truncate to this many tokens (default: the tokenizer's)")
      ->check(at_least(0));
  return [args] {
    const Tokenizer tokenizer = Tokenizer::from_dir(args->model);
    const int max_length =
        args->max_length > 0 ? args->max_length : tokenizer.default_max_length().value_or(512);
    const std::vector<InputLine> lines = read_input_lines(args->input);
    const std::string source = input_name(args->input);
    std::vector<TextInput> inputs;
    for (const InputLine& line : lines) inputs.push_back(parse_text_input(line, source));
    for (const Encoding& enc : tokenize_lines(tokenizer, lines, inputs, source, max_length)) {
      const nlohmann::ordered_json out = {{"input_ids", enc.input_ids},
                                          {"token_type_ids", enc.token_type_ids}};
      std::cout << out.dump() << "\n";
    }
    return 0;
  };
}

}  // namespace qp::cli
