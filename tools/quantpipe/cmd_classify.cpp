// quantpipe classify: JSONL {"text", "text_pair"} (or plain lines) → JSONL
// {"label", "scores", "logits"}, in input order, written batch by batch as
// the input streams in.
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
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
    const int max_length = resolve_max_length(model, args->max_length);
    TextInputReader reader(args->input);
    log_info("classifying with ", model.threads(), " threads, ", args->batch_size, " inputs per batch");
    std::vector<InputRecord> batch;
    NonFiniteResults non_finite(reader.name());
    while (reader.next_batch(batch, args->batch_size)) {
      const auto encodings = tokenize_records(model.tokenizer(), batch, reader.name(), max_length);
      const auto all_logits = model.logits_for_encodings(encodings, args->batch_size);
      for (size_t i = 0; i < all_logits.size(); ++i) {
        const Classification c =
            classification_from_logits(all_logits[i], model.labels(), model.score_function());
        non_finite.add(batch[i], c.has_label());
        const nlohmann::json label = c.has_label() ? nlohmann::json(c.label) : nlohmann::json();
        std::cout
            << nlohmann::ordered_json{{"label", label}, {"scores", c.scores}, {"logits", c.logits}}.dump()
            << "\n";
      }
      flush_results();
    }
    if (!args->dump_tensors.empty()) dump.write(args->dump_tensors);
    non_finite.finish();
    return 0;
  };
}

}  // namespace qp::cli
