#include "pipeline/plan.h"

#include <algorithm>
#include <set>

#include "core/build_info.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "io/hub_cache.h"
#include "io/hub_download.h"
#include "io/model_dir.h"
#include "pipeline/dataset_source.h"
#include "quant/convert.h"

namespace qp::pipeline {
namespace fs = std::filesystem;
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

struct ModelSource {
  fs::path dir;
  std::string problem;
  bool fetch_on_run = false;

  static ModelSource at(fs::path dir) { return {std::move(dir), {}, false}; }
  static ModelSource unavailable(std::string why) { return {{}, std::move(why), false}; }
  static ModelSource fetched_on_run() { return {{}, {}, true}; }
};

// A hub model: the cached snapshot, fetched first when `fetch` (a real run).
// When the hub cannot be reached, a cached snapshot still serves, as
// huggingface_hub falls back to its cache.
ModelSource resolve_hub_source(const ModelConfig& model, bool fetch) {
  HubRepoRef ref;
  try {
    ref = parse_hub_ref(model.hf_name);
  } catch (const Error& e) {
    return ModelSource::unavailable(cat(model.source.str(), ": hf_name: ", e.what()));
  }
  const HubDownloadOptions hub = hub_download_options_from_env();
  const std::optional<fs::path> cached = cached_hub_snapshot(ref, hub.cache_root);
  if (hub.offline)
    return cached ? ModelSource::at(*cached)
                  : ModelSource::unavailable(
                        cat(hub_model_missing_message(model.hf_name, hub.cache_root),
                            "; HF_HUB_OFFLINE=1 forbids fetching it (unset it to download)"));
  if (!fetch) return cached ? ModelSource::at(*cached) : ModelSource::fetched_on_run();
  try {
    return ModelSource::at(download_hub_model(ref, hub));
  } catch (const Error& e) {
    if (!cached) return ModelSource::unavailable(e.what());
    log_warn(model.hf_name, ": using the cached snapshot ", cached->string(), " (", e.what(), ")");
    return ModelSource::at(*cached);
  }
}

// Local path or the hub; on failure the job records why instead of the plan
// failing, so a dry run still shows everything and the other models still run.
ModelSource resolve_source(const ModelConfig& model, bool fetch) {
  if (model.path.empty()) return resolve_hub_source(model, fetch);
  if (fs::exists(model.path / "config.json")) return ModelSource::at(model.path);
  return ModelSource::unavailable(
      cat(model.path.string(), ": model directory not found (no config.json), from ", model.source.str()));
}

std::string convert_command(const Job& job) {
  const QuantizationConfig& q = *job.quantization;
  std::string cmd =
      cat("quantpipe convert --model ", job.source.empty() ? job.model->hf_name : job.source.string(),
          " --out ", job.output.string(), " --bits ",
          q.automatic ? "auto"
          : q.ternary ? "ternary"
                      : std::to_string(q.bits));
  if (!q.ternary) cmd += cat(" --scheme ", to_string(q.scheme));
  cmd += q.per_channel ? std::string(" --per-channel") : cat(" --group-size ", q.group_size);
  if (q.target_size_mb) cmd += cat(" --target-size-mb ", *q.target_size_mb);
  if (q.automatic && q.max_accuracy_drop) cmd += cat(" --max-accuracy-drop ", *q.max_accuracy_drop);
  if (effective_method(q) != quant::QuantMethod::Rtn)
    cmd += cat(" --method ", quant::method_name(effective_method(q)));
  if (quant::needs_calibration(effective_method(q)) || q.automatic) {
    const CalibrationConfig& c = job.model->calibration;
    cmd += cat(" --calibration ",
               job.calibration_dataset ? job.calibration_dataset->name : std::string("corpus"),
               " --calibration-samples ", c.samples, " --calibration-max-length ", c.max_length);
  }
  cmd += " --force";
  if (q.finetune.enabled)
    cmd += cat(" && (when a drop exceeds ", q.finetune.qat_threshold, ") quantpipe finetune --quantized ",
               job.output.string(), " --data ",
               job.finetune_dataset ? job.finetune_dataset->name : std::string("corpus"), " --epochs ",
               q.finetune.epochs, " --samples ", q.finetune.samples, " --lr ", q.finetune.learning_rate);
  return cmd;
}

std::string eval_command(const Job& job, const std::vector<std::string>& files) {
  std::string cmd = cat("quantpipe eval --model ", job.output.string(), " --dataset ", job.dataset->name);
  for (const std::string& file : files) cmd += cat(" --config ", file);
  if (job.limit) cmd += cat(" --limit ", *job.limit);
  return cmd;
}

std::string dataset_fingerprint(const DatasetConfig& d, const fs::path& dataset_cache);

// Fine-tuning's text: finetune.dataset, else the calibration dataset, else
// the shipped corpus; a benchmark of the model is refused (named) or passed
// over, so the evaluation after fine-tuning is on rows it never read.
void choose_finetune_text(const PipelineConfig& config, const ModelConfig& model, const QuantizationConfig& q,
                          Job& job) {
  const FinetuneConfig& f = q.finetune;
  if (!f.dataset.empty()) {
    if (contains(model.benchmarks, f.dataset))
      fail(q.source.str(), ": finetune.dataset ", f.dataset, " is a benchmark of model ", model.name,
           "; fine-tuning text must not be rows the model is judged on");
    job.finetune_dataset = config.find_dataset(f.dataset);
    if (!job.finetune_dataset)
      fail(q.source.str(), ": finetune.dataset ", f.dataset, " is not a dataset of the configs");
    job.finetune_step = cat("finetune dataset ", f.dataset);
  } else if (!model.calibration.dataset.empty() && !contains(model.benchmarks, model.calibration.dataset)) {
    job.finetune_dataset = config.find_dataset(model.calibration.dataset);
    job.finetune_step = cat("calibration dataset ", model.calibration.dataset);
  } else {
    job.finetune_step = "shipped corpus";
  }
}

// GPTQ's calibration text: the model's calibration dataset, else its first
// benchmark dataset, else the corpus shipped with quantpipe (api/calibration.h).
void choose_calibration(const PipelineConfig& config, const ModelConfig& model, Job& job) {
  if (!model.calibration.dataset.empty()) {
    job.calibration_dataset = config.find_dataset(model.calibration.dataset);
    job.calibration_step = cat("calibration dataset ", model.calibration.dataset);
  } else if (!model.benchmarks.empty()) {
    job.calibration_dataset = config.find_dataset(model.benchmarks.front());
    job.calibration_step = cat("first benchmark dataset ", model.benchmarks.front());
  } else {
    job.calibration_step = "shipped corpus";
  }
}

// Everything about a conversion that changes its bytes. `source` is the
// model's fingerprint, hashed once per model (it reads every weight byte).
std::string conversion_fingerprint(const Job& job, const std::string& source, const fs::path& dataset_cache) {
  Fingerprint fp;
  fp.add(source);
  fp.add(job.quant);
  const QuantizationConfig& q = *job.quantization;
  if (q.automatic)  // a failed gate raises precision: the gates shape the bytes too
    fp.add(cat("auto|", q.max_raises, "|", q.min_agreement, "|", q.min_cosine, "|", q.size_tolerance));
  if (quant::needs_calibration(effective_method(q)) || q.automatic) {
    const CalibrationConfig& c = job.model->calibration;
    fp.add(cat("calibration|", job.calibration_step, "|", c.samples, "|", c.max_length));
    if (job.calibration_dataset) fp.add(dataset_fingerprint(*job.calibration_dataset, dataset_cache));
  }
  if (q.finetune.enabled) {  // fine-tuning replaces the bytes when a drop exceeds the threshold
    const FinetuneConfig& f = q.finetune;
    fp.add(cat("finetune|", f.qat_threshold, "|", f.epochs, "|", f.samples, "|", f.learning_rate, "|",
               job.finetune_step));
    if (job.finetune_dataset) fp.add(dataset_fingerprint(*job.finetune_dataset, dataset_cache));
  }
  fp.add(cat("native-format-", kNativeFormatVersion, " quantpipe-", kVersion));
  return fp.hex();
}

std::string dataset_fingerprint(const DatasetConfig& d, const fs::path& dataset_cache) {
  Fingerprint fp;
  fp.add(cat(d.name, "|", to_string(d.provider), "|", d.hf_name, "|", d.subset, "|", d.columns.text, "|",
             d.columns.text_pair, "|", d.columns.label, "|", d.limit.value_or(0), "|",
             d.preprocessing.max_length));
  for (const std::string& split : d.splits) fp.add(split);
  for (const auto& [from, to] : d.label_mapping) fp.add(from + "=" + to);
  for (const std::string& label : d.candidate_labels) fp.add("candidate=" + label);
  fp.add(d.hypothesis_template);
  std::error_code ec;
  if (d.provider == DatasetProvider::Local && fs::is_regular_file(d.path, ec)) fp.add_file(d.path);
  // A hub dataset's rows are those in the cache (fetched before planning in a real run).
  if (d.provider == DatasetProvider::HuggingFace)
    for (const std::string& split : d.splits)
      if (const fs::path cached = hub_export_path(d, split, dataset_cache); fs::is_regular_file(cached, ec))
        fp.add_file(cached);
  return fp.hex();
}

// A real run fetches the hub datasets its evaluations read before planning,
// so their fingerprints hold the rows evaluated. A failure is left to the
// evaluation, which tries again and fails with the message.
void fetch_hub_datasets(const std::vector<Job>& evaluations, const fs::path& dataset_cache) {
  std::set<std::string> done;
  for (const Job& job : evaluations) {
    if (job.dataset->provider != DatasetProvider::HuggingFace || !done.insert(job.dataset->name).second)
      continue;
    try {
      ensure_hub_dataset_cached(*job.dataset, dataset_cache);
    } catch (const Error& e) {
      log_warn(e.what());
    }
  }
}

// Gate thresholds are part of an evaluation's fingerprint: the stored verdict
// depends on them.
std::string evaluation_fingerprint(const Job& job, const std::string& conversion,
                                   const fs::path& dataset_cache) {
  const QuantizationConfig& q = *job.quantization;
  Fingerprint fp;
  fp.add(conversion);
  fp.add(dataset_fingerprint(*job.dataset, dataset_cache));
  fp.add(cat(to_string(job.model->task), "|", q.max_accuracy_drop.value_or(-1), "|",
             q.target_size_mb.value_or(-1), "|", q.min_speedup, "|", q.size_tolerance, "|", q.min_agreement,
             "|", q.min_cosine));
  // The rows evaluated: a --limit run must not stand in for a full one.
  fp.add(job.limit ? cat("rows=", *job.limit) : std::string("rows=all"));
  return fp.hex();
}

// Each quantization of a model is one directory, one state file and one result
// entry, so a second entry with the same scheme would silently share them.
void refuse_duplicate_quantizations(const ModelConfig& model) {
  for (size_t i = 0; i < model.quantization.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (quant_name(model.quantization[i]) == quant_name(model.quantization[j]))
        fail(model.quantization[i].source.str(), ": model '", model.name, "' lists quantization ",
             quant_name(model.quantization[i]), " twice (first at ", model.quantization[j].source.str(),
             "); each quantization is converted once into one directory, so its two entries would share "
             "one model, state and result (and one gate setting would be lost): remove one or merge them");
}

}  // namespace

size_t Plan::count(JobKind kind) const {
  return std::count_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.kind == kind; });
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::string current;
  for (char c : text + " ") {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!current.empty()) names.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  return names;
}

Plan make_plan(const PipelineConfig& config, const Workspace& workspace, const PlanFilter& filter) {
  for (const std::string& name : filter.models)
    if (std::none_of(config.models.begin(), config.models.end(),
                     [&](const ModelConfig& m) { return m.name == name; }))
      fail("--models: no model named '", name, "' in ", config.files.size(), " config file(s)");
  for (const std::string& name : filter.datasets)
    if (!config.find_dataset(name)) fail("--datasets: no dataset named '", name, "' in the config");
  if (filter.limit && *filter.limit <= 0)
    fail("--limit must be at least 1, got ", *filter.limit, " (leave it out to evaluate every row)");
  for (const ModelConfig& model : config.models) refuse_duplicate_quantizations(model);

  Plan plan;
  plan.config_files = config.files;
  std::vector<Job> evaluations;
  for (const ModelConfig& model : config.models) {
    if (!filter.models.empty() && !contains(filter.models, model.name)) continue;
    std::string source_fingerprint;
    const ModelSource source = resolve_source(model, filter.fetch_hub_models);
    for (const QuantizationConfig& q : model.quantization) {
      Job convert;
      convert.kind = JobKind::Convert;
      convert.model = &model;
      convert.quantization = &q;
      convert.quant = quant_name(q);
      if (quant::needs_calibration(effective_method(q)) || q.automatic)
        choose_calibration(config, model, convert);
      if (q.finetune.enabled) choose_finetune_text(config, model, q, convert);
      convert.id = cat("convert.", model.name, ".", convert.quant);
      convert.output = workspace.model_dir(model.name, convert.quant);
      convert.source = source.dir;
      convert.source_problem = source.problem;
      convert.fetch_on_run = source.fetch_on_run;
      if (!convert.source.empty()) {
        if (source_fingerprint.empty()) source_fingerprint = quant::model_fingerprint(convert.source);
        convert.source_fingerprint = source_fingerprint;
        convert.fingerprint = conversion_fingerprint(convert, source_fingerprint, workspace.dataset_cache());
      }
      convert.command = convert_command(convert);
      for (const std::string& dataset_name : model.benchmarks) {
        if (!filter.datasets.empty() && !contains(filter.datasets, dataset_name)) continue;
        Job eval = convert;
        eval.kind = JobKind::Evaluate;
        eval.dataset = config.find_dataset(dataset_name);
        eval.id = cat("eval.", model.name, ".", convert.quant, ".", dataset_name);
        eval.conversion_id = convert.id;
        eval.limit = row_limit(*eval.dataset, filter.limit);
        eval.fingerprint.clear();  // set below, once the hub datasets are fetched
        eval.command = eval_command(eval, config.files);
        evaluations.push_back(std::move(eval));
      }
      plan.jobs.push_back(std::move(convert));
    }
  }
  if (filter.fetch_hub_models) fetch_hub_datasets(evaluations, workspace.dataset_cache());
  for (Job& eval : evaluations) {
    const auto conversion = std::find_if(plan.jobs.begin(), plan.jobs.end(),
                                         [&](const Job& j) { return j.id == eval.conversion_id; });
    if (!conversion->fingerprint.empty())
      eval.fingerprint = evaluation_fingerprint(eval, conversion->fingerprint, workspace.dataset_cache());
  }
  // One fp32 baseline run serves every quantization of a model on a dataset.
  std::stable_sort(evaluations.begin(), evaluations.end(), [](const Job& a, const Job& b) {
    return std::tie(a.model->name, a.dataset->name) < std::tie(b.model->name, b.dataset->name);
  });
  plan.jobs.insert(plan.jobs.end(), evaluations.begin(), evaluations.end());
  return plan;
}

}  // namespace qp::pipeline
