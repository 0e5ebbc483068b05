// quantpipe eval: a quantized model and its fp32 baseline on one dataset, the
// six numbers of each (task metric, queries/min, size, tokens/s, memory,
// latency) as a Markdown table, fidelity and the accuracy drop; --json prints
// the Comparison (docs/RESULTS.md). A model without a quantized counterpart
// (a Hugging Face directory and no --baseline) is evaluated alone.
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/log.h"
#include "eval/evaluate.h"
#include "eval/gates.h"
#include "eval/stats.h"
#include "io/hub_download.h"
#include "pipeline/config.h"
#include "pipeline/dataset_source.h"
#include "quantpipe/heap_tuning.h"
#include "run_options.h"

namespace qp::cli {
namespace {

namespace fs = std::filesystem;
using eval::EvalTask;

struct EvalArgs {
  std::string model, dataset, baseline, task;
  std::vector<std::string> config = {"configs/*.yaml"};
  int64_t limit = 0;
  int threads = 0, batch_size = 32, max_length = 0, latency_queries = 64, speed_rounds = 3;
  std::optional<std::string> text_column, pair_column, label_column;
  bool json = false;
  bool no_gates = false;
  eval::GateThresholds gates;  // --max-accuracy-drop, --min-speedup, --target-size-mb, floors
};

// The config, loaded on first use (only names need it).
class LazyConfig {
 public:
  explicit LazyConfig(const std::vector<std::string>& patterns) : patterns_(patterns) {}
  // `what` says why a name is looked up ("--model x is not a directory").
  const pipeline::PipelineConfig& get(const std::string& what) {
    if (!config_) {
      try {
        config_ = pipeline::load_pipeline_config(patterns_);
      } catch (const Error& e) {
        fail(what, ", and it cannot be looked up as a name: ", e.what());
      }
    }
    return *config_;
  }
  std::string where() const {
    std::string text;
    for (const std::string& p : patterns_) text += (text.empty() ? "" : " ") + p;
    return text;
  }

 private:
  std::vector<std::string> patterns_;
  std::optional<pipeline::PipelineConfig> config_;
};

struct Models {
  fs::path baseline;  // empty: evaluate `model` alone
  fs::path model;
};

// The baseline a native directory was converted from (quantpipe.json source.path).
fs::path recorded_source(const fs::path& dir) {
  const fs::path meta_path = dir / "quantpipe.json";
  const std::optional<nlohmann::json> meta = read_json_object(meta_path);
  const nlohmann::json* path = nullptr;
  if (meta && meta->contains("source") && (*meta)["source"].is_object() && (*meta)["source"].contains("path"))
    path = &(*meta)["source"]["path"];
  if (!path || !path->is_string())
    fail(meta_path.string(), ": no source.path to take the fp32 baseline from; pass --baseline DIR");
  const fs::path source = path->get<std::string>();
  if (!fs::is_directory(source))
    fail(meta_path.string(), ": the baseline it was converted from (source.path ", source.string(),
         ") does not exist here; pass --baseline DIR");
  return source;
}

fs::path model_dir_from_name(const std::string& option, const std::string& name, LazyConfig& config) {
  if (fs::is_directory(name)) return name;
  if (looks_like_hub_ref(name)) return resolve_model_source(name);
  for (const pipeline::ModelConfig& m : config.get(cat(option, " ", name, " is not a directory")).models) {
    if (m.name != name) continue;
    if (m.path.empty()) return resolve_model_source(m.hf_name);  // fetched into the HF cache
    return m.path;
  }
  fail(option, " ", name, ": neither a model directory nor a model name in ", config.where());
}

Models resolve_models(const EvalArgs& args, LazyConfig& config) {
  Models models;
  models.model = model_dir_from_name("--model", args.model, config);
  const bool native = fs::exists(models.model / "quantpipe.json");
  if (!args.baseline.empty()) {
    models.baseline = model_dir_from_name("--baseline", args.baseline, config);
  } else if (native) {
    models.baseline = recorded_source(models.model);
  }
  return models;
}

struct Dataset {
  pipeline::DatasetConfig config;
  bool from_config = false;
};

Dataset resolve_dataset(const EvalArgs& args, LazyConfig& config) {
  Dataset d;
  if (fs::is_regular_file(args.dataset)) {
    d.config = pipeline::local_file_dataset(args.dataset, {});
  } else {
    const pipeline::DatasetConfig* found =
        config.get(cat("--dataset ", args.dataset, " is not a file")).find_dataset(args.dataset);
    if (!found)
      fail("--dataset ", args.dataset, ": neither a dataset file nor a dataset name in ", config.where());
    d.config = *found;
    d.from_config = true;
  }
  if (args.text_column) d.config.columns.text = *args.text_column;
  if (args.pair_column) d.config.columns.text_pair = *args.pair_column;
  if (args.label_column) d.config.columns.label = *args.label_column;
  if (args.task == "unlabelled") d.config.columns.label.clear();
  if (args.limit > 0) d.config.limit = args.limit;
  return d;
}

EvalTask task_from_name(const std::string& name) {
  if (name == "classification") return EvalTask::Classification;
  if (name == "similarity") return EvalTask::Similarity;
  if (name == "zero-shot") return EvalTask::ZeroShot;
  if (name == "unlabelled") return EvalTask::Unlabelled;
  fail("--task ", name, ": expected classification, similarity, zero-shot or unlabelled");
}

EvalTask infer_task(const pipeline::DatasetConfig& dataset, const std::vector<LabelledExample>& examples,
                    const Model& model) {
  if (!dataset.candidate_labels.empty()) return EvalTask::ZeroShot;
  if (dataset.columns.label.empty()) return EvalTask::Unlabelled;
  const bool scores =
      std::all_of(examples.begin(), examples.end(), [](const auto& e) { return e.has_score; });
  if (model.info().num_labels == 0 && scores) return EvalTask::Similarity;
  return EvalTask::Classification;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string primary_text(const eval::RunResult& r) {
  return r.primary_metric.empty() ? "—" : fixed(r.primary, 4);
}

void print_table(const std::vector<const eval::RunResult*>& runs) {
  const eval::RunResult& first = *runs.front();
  const std::string metric = first.primary_metric.empty() ? "metric (unlabelled)" : first.primary_metric;
  std::string header = "| metric |", rule = "|---|";
  const char* roles[] = {"baseline", "quantized"};
  for (size_t i = 0; i < runs.size(); ++i) {
    header += cat(" ", runs.size() > 1 ? roles[i % 2] : "model", " (", runs[i]->format, ") |");
    rule += "---:|";
  }
  std::cout << header << "\n" << rule << "\n";
  auto row = [&](const std::string& name, auto value) {
    std::cout << "| " << name << " |";
    for (const eval::RunResult* r : runs) std::cout << " " << value(*r) << " |";
    std::cout << "\n";
  };
  row(metric, primary_text);
  row("queries/min", [](const eval::RunResult& r) { return fixed(r.queries_per_minute, 0); });
  row("size MB", [](const eval::RunResult& r) { return fixed(r.model_size_mb, 1); });
  row("tokens/s", [](const eval::RunResult& r) { return fixed(r.tokens_per_second, 0); });
  row("model RSS avg / peak MB", [](const eval::RunResult& r) {
    return fixed(r.memory.model_avg(), 0) + " / " + fixed(r.memory.model_peak(), 0);
  });
  row("latency p50 / p95 / p99 ms", [](const eval::RunResult& r) {
    return fixed(r.latency.p50, 2) + " / " + fixed(r.latency.p95, 2) + " / " + fixed(r.latency.p99, 2);
  });
  // Loop over the pair, not a structured binding: C++17 lambdas (and clang 14) cannot capture
  // a binding's name.
  for (const auto& metric : first.metrics) {
    const std::string& name = metric.first;
    if (name != first.primary_metric)
      row(name, [&name](const eval::RunResult& r) {
        const auto it = r.metrics.find(name);
        if (it == r.metrics.end()) return std::string("—");
        return fixed(it->second, name == "invalid" ? 0 : 4);
      });
  }
}

void print_comparison(const eval::Comparison& c) {
  print_table({&c.baseline, &c.quantized});
  const eval::Fidelity& f = c.fidelity;
  std::cout << "\nFidelity: mean cosine " << fixed(f.mean_cosine, 5) << ", min " << fixed(f.min_cosine, 5)
            << ", MSE " << fixed(f.mse, 6) << ", max |Δ| " << fixed(f.max_abs_diff, 4) << ", NaN/Inf "
            << f.nan_inf << ", label agreement "
            << (f.label_agreement ? fixed(*f.label_agreement, 4) : std::string("—")) << "\n";
  if (!f.per_layer.empty()) {
    std::vector<eval::LayerFidelity> worst = f.per_layer;
    std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.cosine < b.cosine; });
    worst.resize(std::min<size_t>(worst.size(), 5));
    std::cout << "Least faithful intermediates (of " << f.per_layer.size() << "): ";
    for (size_t i = 0; i < worst.size(); ++i)
      std::cout << (i ? ", " : "") << worst[i].name << " cos " << fixed(worst[i].cosine, 5) << " rel.mse "
                << fixed(worst[i].relative_mse, 6);
    std::cout << "\n";
  }
  if (!c.baseline.primary_metric.empty())
    std::cout << c.baseline.primary_metric << " drop: " << fixed(c.accuracy_drop_points, 2) << " points; ";
  std::cout << "speedup: " << fixed(c.speedup, 2) << "×\n";
}

void print_gates(const std::vector<eval::GateResult>& gates) {
  if (gates.empty()) return;
  std::cout << "\nQuality gates:\n";
  for (const eval::GateResult& gate : gates)
    std::cout << "  " << (gate.passed ? (gate.warning ? "PASS (warning)" : "PASS") : "FAIL") << "  "
              << gate.name << ": " << gate.detail << "\n";
}

int run_eval(const EvalArgs& args) {
  const bool infer = args.task.empty();  // --task checked before anything is loaded
  const EvalTask forced_task = infer ? EvalTask::Classification : task_from_name(args.task);
  LazyConfig config(args.config);
  const Models models = resolve_models(args, config);
  const Dataset dataset = resolve_dataset(args, config);
  const std::vector<LabelledExample> examples =
      pipeline::load_dataset(dataset.config, pipeline::default_dataset_cache_dir());
  const fs::path& first_dir = models.baseline.empty() ? models.model : models.baseline;

  eval::EvalSpec spec;
  spec.dataset = dataset.config.name;
  spec.candidate_labels = dataset.config.candidate_labels;
  spec.hypothesis_template = dataset.config.hypothesis_template;
  eval::EvalOptions options;
  options.batch_size = args.batch_size;
  options.latency_queries = args.latency_queries;
  options.speed_rounds = args.speed_rounds;

  // Each model runs alone in the process, so the memory columns are its own.
  // The task is settled on the first model (the baseline when there is one).
  bool task_known = false;
  auto run = [&](const fs::path& dir) {
    // What the previous model freed goes back first: the memory columns count
    // RSS above this point, the model's weights and activations.
    release_freed_memory();
    options.rss_before_load = current_rss_bytes();
    Model model = Model::load(dir, {args.threads});
    if (!task_known) {
      spec.task = infer ? infer_task(dataset.config, examples, model) : forced_task;
      task_known = true;
    }
    int max_length = args.max_length;
    if (max_length == 0 && dataset.from_config)
      max_length = std::min(dataset.config.preprocessing.max_length, model.info().max_positions);
    options.max_length = resolve_max_length(model, max_length);
    return eval::run_model(model, examples, spec, options);
  };
  eval::RunResult first = run(first_dir);
  if (models.baseline.empty()) {
    if (args.json) {
      std::cout << eval::to_json(first).dump(2) << "\n";
    } else {
      print_table({&first});
    }
    return 0;
  }
  eval::RunResult quantized = run(models.model);
  options.rss_before_load = 0;
  Model baseline_model = Model::load(models.baseline, {args.threads});
  Model quantized_model = Model::load(models.model, {args.threads});
  log_info("comparing ", options.per_layer_examples, " examples layer by layer");
  const eval::Comparison comparison = eval::compare_runs(
      std::move(first), std::move(quantized), baseline_model, quantized_model, examples, spec, options);
  const std::vector<eval::GateResult> gates =
      args.no_gates ? std::vector<eval::GateResult>{} : eval::apply_gates(comparison, args.gates);
  if (args.json) {
    nlohmann::json doc = eval::to_json(comparison);
    doc["gates"] = nlohmann::json::array();
    for (const eval::GateResult& gate : gates) doc["gates"].push_back(eval::to_json(gate));
    doc["passed"] = eval::all_passed(gates);
    std::cout << doc.dump(2) << "\n";
  } else {
    print_comparison(comparison);
    print_gates(gates);
  }
  return eval::all_passed(gates) ? 0 : 2;
}

}  // namespace

Action configure_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  app.add_option(
         "-m,--model", args->model,
         "The model to evaluate: a quantpipe native directory (its quantpipe.json names the fp32 "
         "baseline), a Hugging Face directory, a hub id org/name[@revision] (fetched into the HF cache), "
         "or the name of a model in --config")
      ->required();
  app.add_option("-d,--dataset", args->dataset,
                 "A dataset file (.jsonl, .csv or .tsv with a header; columns text, text_pair, label unless "
                 "overridden) or the name of a dataset in --config")
      ->required();
  app.add_option("--baseline", args->baseline,
                 "The fp32 model to compare with (directory or config name; default: source.path in the "
                 "model's quantpipe.json)");
  app.add_option("--config", args->config, "Config files or glob patterns, for names")->capture_default_str();
  app.add_option("--task", args->task,
                 "classification | similarity | zero-shot | unlabelled (default: from the dataset: candidate "
                 "labels → zero-shot, no label column → unlabelled, numeric labels and an embedding model → "
                 "similarity, else classification)");
  app.add_option("--limit", args->limit, "Evaluate at most this many rows, spread evenly over the file")
      ->check(at_least(1));
  app.add_option("-t,--threads", args->threads, "Worker threads (default: all cores)")->check(thread_count());
  app.add_option("-b,--batch-size", args->batch_size, "Sequences per forward pass in the batched pass")
      ->capture_default_str()
      ->check(in_range(1, kMaxBatchSize));
  app.add_option("--max-length", args->max_length,
                 "Truncate to this many tokens (default: the dataset config's preprocessing.max_length, else "
                 "the model's)")
      ->check(at_least(0));
  app.add_option("--latency-queries", args->latency_queries,
                 "Examples timed one at a time (batch 1) for the latency percentiles")
      ->capture_default_str()
      ->check(at_least(0));
  app.add_option("--speed-rounds", args->speed_rounds,
                 "Alternating timed passes of both models (128 rows each) behind the speedup; 0: the ratio "
                 "of the two full passes' queries/min")
      ->capture_default_str()
      ->check(at_least(0));
  app.add_option("--text-column", args->text_column, "Column (or JSON field) of the text");
  app.add_option("--pair-column", args->pair_column, "Column of the second text (pairs: NLI, STS)");
  app.add_option("--label-column", args->label_column, "Column of the gold label or score ('' for none)");
  app.add_flag("--json", args->json, "Print the result as JSON (docs/RESULTS.md) instead of Markdown");
  app.add_option("--max-accuracy-drop", args->gates.max_accuracy_drop,
                 "Gate: fail when the primary metric drops more than this fraction of its scale below fp32 "
                 "(0.015 = 1.5 points, 1.5%; as max_accuracy_drop in the configs)")
      ->check([](const std::string& text) {
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size()) return "expected a number, got " + text;
        return eval::max_accuracy_drop_problem(value);
      });
  app.add_option("--min-speedup", args->gates.min_speedup, "Gate: quantized ÷ fp32 queries/min at least this")
      ->capture_default_str();
  app.add_option("--target-size-mb", args->gates.target_size_mb,
                 "Gate: size of the weight files within ±10% of this (far below passes with a warning)");
  app.add_option("--min-agreement", args->gates.min_agreement, "Collapse gate: label agreement floor")
      ->capture_default_str();
  app.add_option("--min-cosine", args->gates.min_cosine, "Collapse gate: mean cosine floor for embeddings")
      ->capture_default_str();
  app.add_flag("--no-gates", args->no_gates, "Report only; apply no quality gate");
  app.footer(
      "Measures, for the baseline and the quantized model: the task metric (accuracy, or Spearman for\n"
      "similarity), queries/min and tokens/s of a batched pass over all rows, size of the weight files,\n"
      "RSS average and peak during that pass, and latency p50/p95/p99 of single queries. Then fidelity\n"
      "(cosine, MSE, max |Δ|, NaN/Inf, label agreement, per layer on the first 4 examples), the drop in\n"
      "points and the speedup, and the quality gates (docs/PIPELINE.md). Logs go to stderr, the table or\n"
      "JSON to stdout. Exit status 2 when a gate fails, 1 on errors.");
  return [args] { return run_eval(*args); };
}

}  // namespace qp::cli
