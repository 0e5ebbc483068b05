// quantpipe demo: the built-in default job — the whole pipeline (convert,
// evaluate fp32 vs quantized, quality gates, report) on a config it writes
// itself: the real models and dev sets in ../shared when present, else tiny
// models and texts that quantpipe generates (random weights: that shows the
// flow, not quality). Prints the report and where the files are.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "example_texts.h"
#include "io/tiny_model.h"
#include "pipeline/workspace.h"
#include "pipeline_command.h"
#include "run_options.h"
#include "shared_dir.h"

namespace qp::cli {
namespace fs = std::filesystem;
namespace {

// YAML quoting for paths (JSON strings are valid YAML scalars).
std::string quoted(const fs::path& path) { return nlohmann::json(path.string()).dump(); }

// The three shared models, each at 8 and 4 bits, on their dev sets.
std::string shared_config(const fs::path& shared) {
  const fs::path m = shared / "models", d = shared / "data";
  const std::string variants =
      "    quantization:\n"
      "      - {bits: 8, scheme: sym, per_channel: true, max_accuracy_drop: 0.01}\n"
      "      - {bits: 4, scheme: affine, group_size: 64, max_accuracy_drop: 0.03}\n";
  return cat(
      "# Written by `quantpipe demo`: the models and dev sets in ", shared.string(), "\nmodels:\n",
      "  - name: minilm-l6-genre\n    path: ", quoted(m / "minilm-l6-genre"), "\n    task: classification\n",
      variants, "    benchmarks: [genre]\n",  //
      "  - name: minilm-l6-sts\n    path: ", quoted(m / "minilm-l6-sts"), "\n    task: embedding\n", variants,
      "    benchmarks: [stsb]\n",  //
      "  - name: minilm-l6-nli\n    path: ", quoted(m / "minilm-l6-nli"), "\n    task: nli\n", variants,
      "    benchmarks: [mnli]\n",  //
      "datasets:\n", "  - {name: genre, provider: local, path: ", quoted(d / "genre/dev_a.jsonl"),
      ", metrics: [accuracy, agreement]}\n",
      "  - {name: stsb, provider: local, path: ", quoted(d / "stsb/dev_a.tsv"),
      ", columns: {text: sentence1, text_pair: sentence2, label: score}, metrics: [spearman, pearson]}\n",
      "  - {name: mnli, provider: local, path: ", quoted(d / "mnli/dev_a.jsonl"),
      ", columns: {text: premise, text_pair: hypothesis, label: label}, metrics: [accuracy, agreement]}\n");
}

// Tiny generated models and the built-in sentences (unlabelled: agreement and
// cosine with fp32 only). Tiny models are all overhead, so no speed gate.
std::string tiny_config(const fs::path& dir) {
  TinyBertSpec base;
  base.hidden = 64;
  base.intermediate = 128;
  TinyBertSpec classifier = base, embedder = base;
  classifier.num_labels = 3;
  embedder.sentence_transformer = true;
  for (const auto& [name, spec] :
       {std::pair{"tiny-classifier", classifier}, std::pair{"tiny-embedder", embedder}})
    if (!fs::exists(dir / name / "config.json")) write_tiny_bert(dir / name, spec);
  std::string texts;
  for (const std::string& s : example_sentences()) texts += nlohmann::json({{"text", s}}).dump() + "\n";
  write_file_atomic(dir / "texts.jsonl", texts);
  const std::string variants =
      "    quantization:\n"
      "      - {bits: 8, scheme: sym, per_channel: true, min_speedup: 0}\n"
      "      - {bits: 4, scheme: affine, group_size: 32, min_speedup: 0, min_agreement: 0.5, min_cosine: "
      "0.5}\n";
  return cat("# Written by `quantpipe demo`: tiny generated models (../shared not found)\nmodels:\n",
             "  - name: tiny-classifier\n    path: ", quoted(dir / "tiny-classifier"),
             "\n    task: classification\n", variants, "    benchmarks: [texts]\n",
             "  - name: tiny-embedder\n    path: ", quoted(dir / "tiny-embedder"), "\n    task: embedding\n",
             variants, "    benchmarks: [texts]\n",
             "datasets:\n  - {name: texts, provider: local, path: ", quoted(dir / "texts.jsonl"),
             ", columns: {text: text, label: \"\"}, metrics: [agreement]}\n");
}

}  // namespace

Action configure_demo(CLI::App& app) {
  auto request = std::make_shared<PipelineRequest>();
  app.add_option("-t,--threads", request->options.eval.threads,
                 "Threads for each evaluation (default: all cores)")
      ->check(thread_count());
  app.add_option("-j,--jobs", request->options.jobs, "Conversions to run at a time")
      ->capture_default_str()
      ->check(in_range(1, max_threads()));
  app.add_option("--workspace", request->workspace,
                 "Workspace directory (default: $QUANTPIPE_TEMP_DIR, $MLX_TEMP_DIR or $TMPDIR/quantpipe)");
  app.add_flag("--dry-run", request->dry_run, "Print the plan only");
  app.footer("Runs `quantpipe pipeline` on a config it writes to <workspace>/demo/demo.yaml.");
  return [request] {
    const pipeline::Workspace ws = pipeline::Workspace::chosen(request->workspace);
    const fs::path dir = ws.root() / "demo";
    fs::create_directories(dir);
    std::string config;
    if (auto shared = find_shared_dir()) {
      std::cout << "# quantpipe demo: the pipeline on the models and data in " << shared->string() << "\n";
      config = shared_config(*shared);
    } else {
      std::cout
          << "# quantpipe demo: ../shared not found, so tiny generated models (random weights: this shows "
             "the flow, not quality)\n";
      config = tiny_config(dir);
    }
    write_file_atomic(dir / "demo.yaml", config);
    PipelineRequest run = *request;
    run.configs = {(dir / "demo.yaml").string()};
    run.workspace = ws.root().string();
    const int status = run_pipeline_command(run);
    if (std::ifstream report{ws.report_markdown()}; report && !run.dry_run)
      std::cout << "\n" << report.rdbuf();
    // A failed gate is the demo's finding, not its failure: say so loudly (as
    // `quantpipe pipeline` does with exit status 2), but the demo itself ran.
    if (status == 2)
      std::cout << "\n*** QUALITY GATES FAILED: see the Gates section above and " << ws.report_html().string()
                << "; `quantpipe pipeline --config " << run.configs[0] << "` exits 2 for this ***\n";
    return status == 2 ? 0 : status;
  };
}

}  // namespace qp::cli
