// quantpipe pipeline: the whole chain from YAML configs — plan model ×
// quantization × dataset jobs, convert (in parallel), evaluate fp32 and
// quantized on the same inputs, apply the quality gates, write results and
// the report into the workspace. Exit 0 when every job ran and every gate
// passed (kept verdicts of skipped jobs included), 2 when a gate failed, 1
// when a job (or the setup) failed; a dry run exits 1 when a job cannot run.
// --upload MODEL:QUANT then publishes those converted models on the hub,
// each only when every evaluation of it passed its gates.
#include <unistd.h>

#include <iostream>

#include "command.h"
#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "pipeline/config.h"
#include "pipeline/plan.h"
#include "pipeline/publish.h"
#include "pipeline/runner.h"
#include "pipeline_command.h"
#include "run_options.h"
#include "train/finetune_model.h"

namespace qp::cli {
namespace {

struct PipelineArgs {
  std::vector<std::string> configs{"configs/*.yaml"};
  std::string models, datasets, workspace;
  std::vector<std::string> uploads;
  bool dry_run = false, no_skip = false;
  int jobs = 1, threads = 0, batch_size = 32, speed_rounds = 3;
  int64_t limit = 0;
};

// Prints the plan; returns how many jobs cannot run.
int print_plan(const pipeline::Plan& plan, const pipeline::Workspace& workspace, bool skip) {
  std::cout << "# plan: " << plan.count(pipeline::JobKind::Convert) << " conversions, "
            << plan.count(pipeline::JobKind::Evaluate) << " evaluations (workspace "
            << workspace.root().string() << ")\n\n";
  const pipeline::SkipCheck skips = skip ? pipeline::check_skips(plan, workspace) : pipeline::SkipCheck{};
  int cannot_run = 0;
  for (const pipeline::Job& job : plan.jobs) {
    std::string status = "run";
    if (!job.source_problem.empty()) {
      status = "cannot run: " + job.source_problem;
      ++cannot_run;
    } else if (job.fetch_on_run) {
      status = "run, after fetching " + job.model->hf_name + " from the hub (not in the cache yet)";
    } else if (skips.up_to_date.count(job.id)) {
      status = "skip (unchanged since the last run)";
    } else if (auto why = skips.reruns.find(job.id); why != skips.reruns.end()) {
      status = "run again: " + why->second;
    }
    std::cout << job.id << "  [" << status << "]\n    " << job.command << "\n";
  }
  if (cannot_run > 0)
    std::cout << "\n# " << cannot_run << " of " << plan.jobs.size()
              << " job(s) cannot run (see above); a real run would fail them\n";
  return cannot_run;
}

// The targets of --upload with their conversion jobs, checked before anything runs.
struct Upload {
  pipeline::UploadTarget target;
  const pipeline::Job* job = nullptr;
};

std::vector<Upload> plan_uploads(const std::vector<std::string>& texts, const pipeline::Plan& plan) {
  std::vector<Upload> uploads;
  for (const std::string& text : texts) {
    Upload u{pipeline::parse_upload_target(text)};
    u.job = &pipeline::conversion_for(plan, u.target);
    uploads.push_back(u);
  }
  return uploads;
}

std::string repo_of(const Upload& u, const std::string& user) {
  return u.target.repo.empty() ? pipeline::upload_repo_for(*u.job->model, u.job->quant, user) : u.target.repo;
}

// Publishes each target whose gates passed; returns how many were refused or failed.
int run_uploads(const std::vector<Upload>& uploads, const pipeline::Workspace& workspace,
                const HubClient& client) {
  std::string user;  // asked of the hub once, when a default repo needs it
  int problems = 0;
  for (const Upload& u : uploads) {
    const std::string name = cat(u.target.model, ":", u.target.quant);
    const pipeline::GateVerdict verdict = pipeline::upload_gate_verdict(*u.job, workspace);
    if (!verdict.passed) {
      std::cout << "  upload refused: " << verdict.why << "\n";
      ++problems;
      continue;
    }
    try {
      if (user.empty() && u.target.repo.empty() && u.job->model->upload_repo.empty())
        user = hub_user_name(client);
      pipeline::PublishRequest request;
      request.model_dir = u.job->output;
      request.repo = repo_of(u, user);
      request.base_model = u.job->model->hf_name;
      request.evaluations = verdict.evaluations;
      request.progress = isatty(STDERR_FILENO) == 1 && log_level() <= LogLevel::Info;
      const HubCommit commit = pipeline::publish_model(request, client);
      std::cout << "uploaded " << name << " to " << request.repo << ": " << commit.url << " (" << commit.oid
                << ")\n";
    } catch (const Error& e) {
      std::cout << "  upload failed: " << name << ": " << e.what() << "\n";
      ++problems;
    }
  }
  return problems;
}

}  // namespace

int run_pipeline_command(const PipelineRequest& request) {
  const pipeline::PipelineConfig config = pipeline::load_pipeline_config(request.configs);
  const pipeline::Workspace workspace = pipeline::Workspace::chosen(request.workspace);
  const pipeline::Plan plan = pipeline::make_plan(
      config, workspace,
      {pipeline::split_names(request.models), pipeline::split_names(request.datasets), request.limit,
       /*fetch_hub_models=*/!request.dry_run});
  if (plan.jobs.empty())
    fail("the plan is empty: no model in ", config.files.size(), " config file(s) matches");
  const std::vector<Upload> uploads = plan_uploads(request.uploads, plan);
  const HubClient client(hub_client_options_from_env());
  if (request.dry_run) {
    const int cannot_run = print_plan(plan, workspace, request.options.skip);
    for (const Upload& u : uploads)
      std::cout << "upload " << u.target.model << ":" << u.target.quant << " -> " << repo_of(u, "<user>")
                << "  [when its gates pass]\n";
    return cannot_run > 0 ? 1 : 0;
  }
  // No token: said now, not after a long run.
  if (!uploads.empty()) require_hub_token(client.options(), "--upload");
  log_info("pipeline: ", plan.jobs.size(), " jobs from ", config.files.size(), " config file(s); workspace ",
           workspace.root().string(), " (follow with: quantpipe monitor --workspace ",
           workspace.root().string(), ")");
  pipeline::PipelineOptions options = request.options;
  options.terminal = isatty(STDERR_FILENO);
  options.eval.dataset_cache = workspace.dataset_cache();
  options.finetune = [](const pipeline::FinetuneRequest& request) {
    train::FinetuneModelOptions finetune;
    finetune.data = request.text;
    finetune.train.epochs = request.epochs;
    finetune.train.adamw.lr = static_cast<float>(request.learning_rate);
    finetune.threads = request.threads;
    finetune.emit_fp16 = true;  // the dual output: packed codes plus the fp16 model that loads anywhere
    return train::finetune_quantized(request.quantized, finetune).info;
  };
  const pipeline::PipelineOutcome outcome = pipeline::run_pipeline(plan, workspace, options);

  std::cout << "\n# pipeline: " << outcome.done << " done, " << outcome.skipped << " skipped, "
            << outcome.failed << " failed; " << outcome.gates_failed
            << " evaluation(s) failed a quality gate\n";
  for (const std::string& problem : outcome.problems) std::cout << "  FAIL " << problem << "\n";
  if (!outcome.report_markdown.empty())
    std::cout << "\nreport: " << outcome.report_html.string() << "\n        "
              << outcome.report_markdown.string() << "\n";
  std::cout << "results: " << workspace.root().string() << "/{results,test_results,comparisons,logs}\n";
  const int status = outcome.failed > 0 ? 1 : outcome.gates_failed > 0 ? 2 : 0;
  const int upload_problems = run_uploads(uploads, workspace, client);
  return status != 0 ? status : upload_problems > 0 ? 1 : 0;
}

Action configure_pipeline(CLI::App& app) {
  auto args = std::make_shared<PipelineArgs>();
  app.add_option("-c,--config", args->configs, "Config files or glob patterns (repeatable)")
      ->capture_default_str();
  app.add_option("--models", args->models, "Only these models (names, space- or comma-separated)");
  app.add_option("--datasets", args->datasets, "Only these benchmark datasets (names)");
  app.add_flag("--dry-run", args->dry_run, "Print the plan and the equivalent commands; run nothing");
  app.add_flag("--no-skip", args->no_skip, "Rerun work even when its fingerprint is unchanged");
  app.add_option("-j,--jobs", args->jobs, "Conversions to run at a time")
      ->check(in_range(1, max_threads()))
      ->capture_default_str();
  app.add_option("-t,--threads", args->threads, "Threads for each evaluation (default: all cores)")
      ->check(thread_count());
  app.add_option("-b,--batch-size", args->batch_size, "Batch size of the evaluation runs")
      ->check(in_range(1, kMaxBatchSize))
      ->capture_default_str();
  app.add_option("--speed-rounds", args->speed_rounds,
                 "Alternating timed passes of fp32 and quantized (128 rows each) behind each speedup")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--limit", args->limit,
                 "Use at most this many rows of every dataset, spread evenly over it as `eval --limit` does "
                 "(quick runs; the row count is part of each evaluation's fingerprint)")
      ->check(at_least(1));
  app.add_option("--workspace", args->workspace,
                 "Workspace directory (default: $QUANTPIPE_TEMP_DIR, $MLX_TEMP_DIR or $TMPDIR/quantpipe)");
  app.add_option(
         "--upload", args->uploads,
         "After the run, publish this converted model on the hub when every evaluation of it passed its "
         "gates (repeatable): MODEL:QUANT[=OWNER/NAME], the config's model name and the quantization "
         "as the plan names it (q8_sym_ch, q4_affine_g64; see --dry-run). The repo: OWNER/NAME, else "
         "the model's upload_repo: ({quant} and {model} replaced), else "
         "<token's user>/<model>-<quant>-quantpipe")
      ->check([](const std::string& text) {
        try {
          pipeline::parse_upload_target(text);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      });
  app.footer(
      "Exit status: 0 all jobs ran and every gate passed; 2 a quality gate failed (also when kept from\n"
      "an earlier run); 1 a job failed, or an --upload was refused (gates) or failed when the run itself\n"
      "passed. --dry-run: 1 when a job cannot run. --upload needs HF_TOKEN (or `huggingface-cli login`).\n"
      "Files: <workspace>/logs, results, test_results, comparisons, report.md, report.html.");
  return [args] {
    PipelineRequest request;
    request.configs = args->configs;
    request.models = args->models;
    request.datasets = args->datasets;
    request.workspace = args->workspace;
    request.dry_run = args->dry_run;
    request.uploads = args->uploads;
    request.options.skip = !args->no_skip;
    request.options.jobs = args->jobs;
    request.options.eval.threads = args->threads;
    request.options.eval.batch_size = args->batch_size;
    request.options.eval.speed_rounds = args->speed_rounds;
    if (args->limit > 0) request.limit = args->limit;
    return run_pipeline_command(request);
  };
}

}  // namespace qp::cli
