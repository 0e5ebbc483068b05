#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

#include "core/error.h"
#include "core/log.h"
#include "eval/fidelity.h"
#include "eval/memory_sampler.h"
#include "eval/metrics.h"
#include "eval/stats.h"
#include "eval/zero_shot.h"

namespace qp::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What one pass over some examples produced.
struct Pass {
  ModelOutputs outputs;
  std::vector<double> similarities;  // Similarity: cosine of each pair
  int64_t tokens = 0;
};

std::string join_names(const std::vector<std::string>& names, size_t count) {
  std::string text;
  for (size_t i = 0; i < std::min(count, names.size()); ++i) text += cat(i ? ", " : "", names[i]);
  return text;
}

int64_t tokens_of(const std::vector<Encoding>& encodings) {
  int64_t tokens = 0;
  for (const Encoding& e : encodings) tokens += count_tokens(e);
  return tokens;
}

int argmax_if_finite(const std::vector<float>& values) {
  if (values.empty() || !std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
    return -1;
  return static_cast<int>(std::max_element(values.begin(), values.end()) - values.begin());
}

bool uses_head(const Model& model, EvalTask task) {
  return task == EvalTask::Classification || (task == EvalTask::Unlabelled && model.info().num_labels > 0);
}

// The examples as they are: logits through the classification head (`head`),
// else embeddings.
// The examples' encodings: pre-tokenized rows as they are, the rest through
// the tokenizer (only touched when some row has text).
std::vector<Encoding> encode_examples(const Model& model, std::span<const LabelledExample> examples,
                                      int max_length) {
  std::vector<TextInput> texts;
  for (const LabelledExample& e : examples)
    if (!e.ids) texts.push_back(e.input);
  const std::vector<Encoding> tokenized =
      texts.empty() ? std::vector<Encoding>{} : model.tokenize(texts, max_length);
  std::vector<Encoding> encodings;
  size_t next_text = 0;
  for (const LabelledExample& e : examples) encodings.push_back(e.ids ? *e.ids : tokenized[next_text++]);
  return encodings;
}

Pass direct_pass(const Model& model, std::span<const LabelledExample> examples, const RunOptions& run,
                 bool head) {
  const std::vector<Encoding> encodings = encode_examples(model, examples, run.max_length);
  Pass pass;
  pass.tokens = tokens_of(encodings);
  pass.outputs.vectors = head ? model.logits_for_encodings(encodings, run.batch_size)
                              : model.embed_encodings(encodings, run.batch_size);
  for (const auto& values : pass.outputs.vectors)
    pass.outputs.predicted.push_back(head ? argmax_if_finite(values) : -1);
  return pass;
}

// Embeds every text, then every pair, in one run of batches.
Pass similarity_pass(const Model& model, std::span<const LabelledExample> examples, const RunOptions& run) {
  std::vector<TextInput> inputs;
  for (const LabelledExample& e : examples) inputs.push_back({e.input.text, std::nullopt});
  for (const LabelledExample& e : examples) inputs.push_back({e.input.text_pair.value_or(""), std::nullopt});
  const std::vector<Encoding> encodings = model.tokenize(inputs, run.max_length);
  const std::vector<std::vector<float>> vectors = model.embed_encodings(encodings, run.batch_size);
  Pass pass;
  pass.tokens = tokens_of(encodings);
  const size_t n = examples.size();
  for (size_t i = 0; i < n; ++i) {
    pass.similarities.push_back(cosine_similarity(vectors[i], vectors[n + i]));
    std::vector<float> both = vectors[i];
    both.insert(both.end(), vectors[n + i].begin(), vectors[n + i].end());
    pass.outputs.vectors.push_back(std::move(both));
    pass.outputs.predicted.push_back(-1);
  }
  return pass;
}

Pass zero_shot_pass(const Model& model, std::span<const LabelledExample> examples, const EvalSpec& spec,
                    const RunOptions& run) {
  std::vector<std::string> texts;
  for (const LabelledExample& e : examples) texts.push_back(e.input.text);
  ZeroShotResult result =
      zero_shot_classify(model, texts, spec.candidate_labels, spec.hypothesis_template, run);
  Pass pass;
  pass.tokens = result.tokens;
  pass.outputs.vectors = std::move(result.scores);
  pass.outputs.predicted = std::move(result.predicted);
  return pass;
}

Pass run_pass(const Model& model, std::span<const LabelledExample> examples, const EvalSpec& spec,
              const RunOptions& run) {
  if (spec.task == EvalTask::Similarity) return similarity_pass(model, examples, run);
  if (spec.task == EvalTask::ZeroShot) return zero_shot_pass(model, examples, spec, run);
  return direct_pass(model, examples, run, uses_head(model, spec.task));
}

// Pre-tokenized rows feed the encoder directly: only tasks that run each row
// as it is can take them, and they are never truncated behind the user's back.
void check_pretokenized(const Encoding& ids, const EvalSpec& spec, int max_length, const std::string& where) {
  if (spec.task == EvalTask::Similarity || spec.task == EvalTask::ZeroShot)
    fail(where, "pre-tokenized rows (\"input_ids\") work for classification and unlabelled evaluation, not ",
         to_string(spec.task), ", which builds its own inputs from text");
  if (max_length > 0 && static_cast<int64_t>(ids.input_ids.size()) > max_length)
    fail(where, ids.input_ids.size(), " pre-tokenized ids, more than max_length ", max_length,
         " (pre-tokenized rows are not truncated)");
}

void check_examples(const Model& model, const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                    int max_length) {
  if (examples.empty()) fail("evaluation of ", model.path().string(), ": the dataset has no rows");
  for (size_t i = 0; i < examples.size(); ++i) {
    const LabelledExample& e = examples[i];
    const std::string where = cat("dataset '", spec.dataset, "' row ", i + 1, ": ");
    if (e.ids) check_pretokenized(*e.ids, spec, max_length, where);
    if (spec.task == EvalTask::Similarity) {
      if (!e.input.text_pair) fail(where, "similarity needs a second text (text_pair column)");
      if (!e.has_score) fail(where, "similarity needs a numeric score, got '", e.label, "'");
    } else if (spec.task != EvalTask::Unlabelled && e.label.empty()) {
      fail(where, "no label (use --task unlabelled for data without labels)");
    }
  }
  if (spec.task == EvalTask::Classification && model.info().num_labels == 0)
    fail(model.path().string(),
         ": the model has no classification head; evaluate it with task "
         "similarity or unlabelled");
  if (spec.task == EvalTask::ZeroShot && spec.candidate_labels.empty())
    fail("dataset '", spec.dataset, "': zero-shot needs candidate labels");
}

// The names predictions are counted under: the model's labels (or the
// candidate labels), then gold labels that are none of them.
std::vector<std::string> label_names(const Model& model, const std::vector<LabelledExample>& examples,
                                     const EvalSpec& spec) {
  std::vector<std::string> names = spec.task == EvalTask::ZeroShot ? spec.candidate_labels : model.labels();
  if (spec.task == EvalTask::Unlabelled) return names;
  for (const LabelledExample& e : examples)
    if (std::none_of(names.begin(), names.end(),
                     [&](const std::string& n) { return same_label(n, e.label); }))
      names.push_back(e.label);
  return names;
}

// `predictable`: how many of the label names the model can predict (the first ones).
void score_labels(RunResult& result, const std::vector<LabelledExample>& examples,
                  const std::vector<std::string>& predicted_labels, size_t predictable) {
  const size_t n_labels = result.label_names.size();
  result.predicted_counts.assign(n_labels, 0);
  for (int index : result.outputs.predicted)
    if (index >= 0 && static_cast<size_t>(index) < n_labels)
      ++result.predicted_counts[static_cast<size_t>(index)];
  if (result.task == EvalTask::Unlabelled) return;
  result.gold_counts.assign(n_labels, 0);
  std::vector<std::string> gold;
  for (const LabelledExample& e : examples) {
    gold.push_back(e.label);
    for (size_t k = 0; k < n_labels; ++k)
      if (same_label(result.label_names[k], e.label)) ++result.gold_counts[k];
  }
  int64_t gold_predictable = 0;
  for (size_t k = 0; k < std::min(predictable, n_labels); ++k) gold_predictable += result.gold_counts[k];
  if (gold_predictable == 0)
    log_warn("none of the gold labels of '", result.dataset, "' is a label the model predicts (",
             join_names(result.label_names, predictable), "); check the dataset's label_mapping");
  const ClassificationReport report = classification_report(predicted_labels, gold);
  result.metrics["accuracy"] = report.accuracy;
  result.metrics["macro_f1"] = report.macro_f1;
  result.metrics["invalid"] = static_cast<double>(report.invalid);
  for (const ClassStats& c : report.classes)
    if (c.gold > 0) result.metrics["recall/" + c.name] = c.recall;
  result.primary_metric = "accuracy";
}

void score(RunResult& result, const Pass& pass, const std::vector<LabelledExample>& examples,
           size_t predictable) {
  if (result.task == EvalTask::Similarity) {
    std::vector<double> gold;
    for (const LabelledExample& e : examples) gold.push_back(e.score);
    result.metrics["spearman"] = spearman(pass.similarities, gold);
    result.metrics["pearson"] = pearson(pass.similarities, gold);
    result.primary_metric = "spearman";
  } else if (!result.label_names.empty()) {
    std::vector<std::string> predicted;
    for (int index : pass.outputs.predicted)
      predicted.push_back(index >= 0 ? result.label_names[static_cast<size_t>(index)] : std::string());
    score_labels(result, examples, predicted, predictable);
  }
  result.primary = result.primary_metric.empty() ? 0.0 : result.metrics.at(result.primary_metric);
}

LatencyMs time_queries(const Model& model, const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                       const EvalOptions& options) {
  const size_t n = std::min(examples.size(), static_cast<size_t>(std::max(0, options.latency_queries)));
  if (n == 0) return {};
  RunOptions run{1, options.max_length};
  if (spec.task == EvalTask::ZeroShot)
    run.batch_size = std::max<int>(1, static_cast<int>(spec.candidate_labels.size()));
  const std::span<const LabelledExample> all(examples);
  run_pass(model, all.subspan(0, 1), spec, run);  // warm-up
  std::vector<double> ms;
  for (size_t i = 0; i < n; ++i) {
    const Clock::time_point start = Clock::now();
    run_pass(model, all.subspan(i, 1), spec, run);
    ms.push_back(seconds_since(start) * 1e3);
  }
  return summarize_latency(ms);
}

bool is_weight_file(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  const std::string ext = path.extension().string();
  const bool weights_name = name.rfind("model", 0) == 0 || name.rfind("pytorch_model", 0) == 0;
  return weights_name && (ext == ".safetensors" || ext == ".bin");
}

}  // namespace

LatencyMs summarize_latency(const std::vector<double>& milliseconds) {
  const SampleStats stats = summarize(milliseconds);
  return {stats.p50, stats.p95, stats.p99, stats.mean, static_cast<int64_t>(milliseconds.size())};
}

int64_t model_weight_bytes(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail(dir.string(), ": not a model directory");
  int64_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && it.depth() == 0 && it->path().filename() == "fp16") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_weight_file(it->path())) bytes += static_cast<int64_t>(it->file_size());
  }
  return bytes;
}

RunResult run_model(const Model& model, const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                    const EvalOptions& options) {
  check_examples(model, examples, spec, options.max_length);
  RunResult result;
  result.model_path = model.path().string();
  result.format = model.weight_format();
  result.dataset = spec.dataset;
  result.task = spec.task;
  result.rows = static_cast<int64_t>(examples.size());
  result.model_size_mb = static_cast<double>(model_weight_bytes(model.path())) / 1e6;
  const bool zero_shot = spec.task == EvalTask::ZeroShot;
  if (spec.task != EvalTask::Similarity && (zero_shot || uses_head(model, spec.task)))
    result.label_names = label_names(model, examples, spec);
  const size_t predictable = zero_shot ? spec.candidate_labels.size() : model.labels().size();

  log_info("evaluating ", result.model_path, " (", result.format, ") on ", examples.size(), " rows of '",
           spec.dataset, "' (", to_string(spec.task), ")");
  const RunOptions run{options.batch_size, options.max_length};
  MemorySampler sampler(std::chrono::milliseconds(std::max(1, options.memory_interval_ms)));
  const Clock::time_point start = Clock::now();
  Pass pass = run_pass(model, examples, spec, run);
  result.seconds = seconds_since(start);
  result.memory = sampler.stop();
  result.memory.rss_before_load = static_cast<double>(options.rss_before_load) / 1e6;
  result.tokens = pass.tokens;
  result.queries_per_minute =
      result.seconds > 0 ? static_cast<double>(result.rows) / result.seconds * 60.0 : 0.0;
  result.tokens_per_second = result.seconds > 0 ? static_cast<double>(result.tokens) / result.seconds : 0.0;
  result.outputs = pass.outputs;
  score(result, pass, examples, predictable);

  log_info("timing ", std::min<int64_t>(result.rows, options.latency_queries), " single queries");
  result.latency = time_queries(model, examples, spec, options);
  return result;
}

// Baseline and quantized passes in alternation (see SpeedCheck and the header).
SpeedCheck interleaved_speed(const Model& baseline, const Model& quantized,
                             const std::vector<LabelledExample>& examples, const EvalSpec& spec,
                             const EvalOptions& options) {
  const std::vector<LabelledExample> rows = sample_evenly(examples, std::max<int64_t>(1, options.speed_rows));
  const RunOptions run{options.batch_size, options.max_length};
  // Each timed pass follows an untimed one of the same model: the other
  // model's pass has just evicted its weights from the caches, which a
  // process running one model would not see.
  auto seconds = [&](const Model& model) {
    run_pass(model, rows, spec, run);
    const Clock::time_point start = Clock::now();
    run_pass(model, rows, spec, run);
    return seconds_since(start);
  };
  std::vector<double> base, quant;
  for (int round = 0; round < options.speed_rounds; ++round) {
    base.push_back(seconds(baseline));
    quant.push_back(seconds(quantized));
  }
  SpeedCheck check;
  check.rounds = options.speed_rounds;
  check.rows = static_cast<int64_t>(rows.size());
  check.baseline_seconds = percentile(base, 50);
  check.quantized_seconds = percentile(quant, 50);
  check.speedup = check.quantized_seconds > 0 ? check.baseline_seconds / check.quantized_seconds : 0.0;
  return check;
}

Comparison compare_runs(RunResult baseline, RunResult quantized, Model& baseline_model,
                        Model& quantized_model, const std::vector<LabelledExample>& examples,
                        const EvalSpec& spec, const EvalOptions& options) {
  Comparison c;
  c.fidelity = compare_outputs(baseline.outputs, quantized.outputs);
  const size_t n = std::min(examples.size(), static_cast<size_t>(std::max(0, options.per_layer_examples)));
  const bool head = spec.task == EvalTask::ZeroShot || uses_head(baseline_model, spec.task);
  const LayerPass layer_pass = head ? LayerPass::Classify : LayerPass::Embed;
  const std::span<const LabelledExample> few(examples.data(), n);
  if (std::any_of(few.begin(), few.end(), [](const LabelledExample& e) { return e.ids.has_value(); })) {
    // Pre-tokenized rows (classification / unlabelled only, see check_pretokenized).
    c.fidelity.per_layer =
        compare_layers(baseline_model, quantized_model,
                       encode_examples(baseline_model, few, options.max_length), layer_pass);
  } else if (n > 0) {
    std::vector<TextInput> inputs;
    for (size_t i = 0; i < n; ++i) inputs.push_back(examples[i].input);
    if (spec.task == EvalTask::ZeroShot)
      for (TextInput& input : inputs)
        input.text_pair = fill_hypothesis(spec.hypothesis_template, spec.candidate_labels.front());
    if (spec.task == EvalTask::Similarity)
      for (TextInput& input : inputs) input.text_pair.reset();
    c.fidelity.per_layer =
        compare_layers(baseline_model, quantized_model, inputs, layer_pass, options.max_length);
  }
  c.accuracy_drop_points = (baseline.primary - quantized.primary) * 100.0;
  c.speedup =
      baseline.queries_per_minute > 0 ? quantized.queries_per_minute / baseline.queries_per_minute : 0.0;
  if (options.speed_rounds > 0) {
    log_info("timing both models in alternation: ", options.speed_rounds, " rounds of ",
             std::min<int64_t>(options.speed_rows, static_cast<int64_t>(examples.size())), " rows");
    c.speed_check = interleaved_speed(baseline_model, quantized_model, examples, spec, options);
    c.speedup = c.speed_check->speedup;
  }
  c.baseline = std::move(baseline);
  c.quantized = std::move(quantized);
  return c;
}

}  // namespace qp::eval
