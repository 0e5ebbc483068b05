// quantpipe classify: JSONL {"text", "text_pair"} (or plain lines) → JSONL
// {"label", "scores": [{"label", "score"}, …], "logits"}, in input order,
// written batch by batch as the input streams in.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
#include "command.h"
#include "core/log.h"
#include "eval/zero_shot.h"
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

struct ZeroShotArgs {
  std::string labels;  // comma-separated; empty: plain classification
  std::string hypothesis_template = "This example is {}.";
  bool multi_label = false;
};

std::vector<std::string> split_labels(const std::string& text) {
  std::vector<std::string> labels;
  std::string current;
  for (char c : text + ",") {
    if (c != ',') {
      current += c;
      continue;
    }
    const size_t begin = current.find_first_not_of(' '), end = current.find_last_not_of(' ');
    if (begin != std::string::npos) labels.push_back(current.substr(begin, end - begin + 1));
    current.clear();
  }
  if (labels.empty())
    fail("--zero-shot: no candidate labels in '", text, "' (expected e.g. \"politics,sports\")");
  return labels;
}

int run_zero_shot(const Model& model, const ModelRunArgs& args, const ZeroShotArgs& zero_shot) {
  const std::vector<std::string> labels = split_labels(zero_shot.labels);
  eval::fill_hypothesis(zero_shot.hypothesis_template, "x");  // a template without {} fails before any work
  TextInputReader reader(args.input);
  std::vector<InputRecord> batch;
  NonFiniteResults non_finite(reader.name());
  ProgressLine progress("classify", "inputs");
  // Each text runs once per label: batches of texts sized so the pairs fill a batch.
  const size_t texts_per_batch = std::max<size_t>(1, static_cast<size_t>(args.batch_size) / labels.size());
  while (reader.next_batch(batch, texts_per_batch)) {
    std::vector<std::string> texts;
    for (const InputRecord& record : batch) {
      if (record.ids || record.input.text_pair)
        fail(reader.name(), ":", record.line_number,
             ": zero-shot reads single texts (the hypothesis is made from each label), not pairs or ids");
      texts.push_back(record.input.text);
    }
    const eval::ZeroShotResult result = eval::zero_shot_classify(
        model, texts, labels, zero_shot.hypothesis_template, args.run_options(), zero_shot.multi_label);
    for (size_t i = 0; i < texts.size(); ++i) {
      non_finite.add(batch[i], result.predicted[i] >= 0);
      std::cout << eval::zero_shot_json(texts[i], labels, result.scores[i])
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    progress.add(static_cast<int64_t>(batch.size()));
    if (!reader.ready()) flush_results();
  }
  progress.clear();
  flush_results();
  non_finite.finish();
  return 0;
}

}  // namespace

Action configure_classify(CLI::App& app) {
  auto args = std::make_shared<ModelRunArgs>();
  add_model_run_options(app, *args);
  auto zero_shot = std::make_shared<ZeroShotArgs>();
  app.add_option("--zero-shot", zero_shot->labels,
                 "Zero-shot classification with an NLI model: the candidate labels, comma-separated "
                 "(\"politics,sports,science\"); prints {\"sequence\", \"labels\", \"scores\"} per text, as "
                 "transformers' zero-shot-classification pipeline");
  app.add_option("--hypothesis-template", zero_shot->hypothesis_template,
                 "With --zero-shot: the hypothesis, {} replaced by each label")
      ->capture_default_str();
  app.add_flag("--multi-label", zero_shot->multi_label,
               "With --zero-shot: score each label on its own (entailment vs contradiction) instead of a "
               "softmax across the labels");
  return [args, zero_shot] {
    if (zero_shot->labels.empty() && zero_shot->multi_label) fail("--multi-label needs --zero-shot LABELS");
    Model model = Model::load(resolve_model_source(args->model), {args->threads});
    if (!zero_shot->labels.empty()) return run_zero_shot(model, *args, *zero_shot);
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
