// quantpipe classify: JSONL {"text", "text_pair"} (or plain lines) → JSONL
// {"label", "scores": [{"label", "score"}, …], "logits"}, in input order,
// written batch by batch as the input streams in.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
#include "command.h"
#include "core/log.h"
#include "io/tensor_dump.h"
#include "progress_line.h"
#include "run_options.h"

namespace qp::cli {

namespace {

// Every label with its score, highest first, as transformers' pipeline
// (top_k=None) and TEI print them; ties keep the label order. Non-finite
// results (no label) keep the label order, with null scores.
nlohmann::ordered_json labelled_scores(const Classification& c, const std::vector<std::string>& labels) {
  std::vector<size_t> order(c.scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (c.has_label())
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return c.scores[a] > c.scores[b]; });
  nlohmann::ordered_json scores = nlohmann::ordered_json::array();
  for (size_t i : order) {
    const std::string label = i < labels.size() ? labels[i] : cat("LABEL_", i);
    scores.push_back(
        {{"label", label}, {"score", c.has_label() ? nlohmann::json(c.scores[i]) : nlohmann::json()}});
  }
  return scores;
}

}  // namespace

Action configure_classify(CLI::App& app) {
  auto args = std::make_shared<ModelRunArgs>();
  add_model_run_options(app, *args);
  return [args] {
    Model model = Model::load(resolve_model_source(args->model), {args->threads});
    TensorDumpSink dump;
    if (!args->dump_tensors.empty()) model.set_tensor_sink(&dump);
    const int max_length = resolve_max_length(model, args->max_length);
    TextInputReader reader(args->input);
    log_info("classifying with ", model.threads(), " threads, ", args->batch_size, " inputs per batch");
    std::vector<InputRecord> batch;
    NonFiniteResults non_finite(reader.name());
    ProgressLine progress("classify", "inputs");
    while (reader.next_batch(batch, args->batch_size)) {
      const auto encodings = tokenize_records(model, batch, reader.name(), max_length);
      const auto all_logits = model.logits_for_encodings(encodings, args->batch_size);
      for (size_t i = 0; i < all_logits.size(); ++i) {
        const Classification c =
            classification_from_logits(all_logits[i], model.labels(), model.score_function());
        non_finite.add(batch[i], c.has_label());
        const nlohmann::json label = c.has_label() ? nlohmann::json(c.label) : nlohmann::json();
        std::cout << nlohmann::ordered_json{{"label", label},
                                            {"scores", labelled_scores(c, model.labels())},
                                            {"logits", c.logits}}
                         .dump()
                  << "\n";
      }
      flush_results();
      progress.add(static_cast<int64_t>(batch.size()));
    }
    progress.clear();
    if (!args->dump_tensors.empty()) dump.write(args->dump_tensors);
    non_finite.finish();
    return 0;
  };
}

}  // namespace qp::cli
