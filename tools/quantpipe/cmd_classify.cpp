// quantpipe classify: JSONL {"text", "text_pair"} (or plain lines) → JSONL
// {"label", "scores", "logits"}, in input order.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/log.h"
#include "io/tensor_dump.h"
#include "run_options.h"

namespace qp::cli {

Action configure_classify(CLI::App& app) {
  auto args = std::make_shared<ModelRunArgs>();
  add_model_run_options(app, *args);
  return [args] {
    Model model = Model::load(args->model, {args->threads});
    TensorDumpSink dump;
    if (!args->dump_tensors.empty()) model.set_tensor_sink(&dump);
    const std::vector<InputLine> lines = read_input_lines(args->input);
    const std::string source = input_name(args->input);
    std::vector<TextInput> inputs;
    for (const InputLine& line : lines) inputs.push_back(parse_text_input(line, source));
    const int max_length = resolve_max_length(model, args->max_length);
    const auto encodings = tokenize_lines(model.tokenizer(), lines, inputs, source, max_length);
    log_info("classifying ", encodings.size(), " inputs with ", model.threads(), " threads");
    for (const auto& logits : model.logits_for_encodings(encodings, args->batch_size)) {
      const Classification c = classification_from_logits(logits, model.labels());
      std::cout
          << nlohmann::ordered_json{{"label", c.label}, {"scores", c.scores}, {"logits", c.logits}}.dump()
          << "\n";
    }
    if (!args->dump_tensors.empty()) dump.write(args->dump_tensors);
    return 0;
  };
}

}  // namespace qp::cli
