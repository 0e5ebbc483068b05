// The pipeline's workspace: one directory holding everything a run leaves
// behind, laid out so a person (or `quantpipe monitor`) can find it:
//
//   <root>/logs/conversion_<model>.log         per-model log (quantpipe.log when no model)
//   <root>/models/<model>_<quant>/             converted native models
//   <root>/results/<model>_conversion.json     conversions of one model (all quantizations)
//   <root>/test_results/<model>_<quant>_results.json   evaluations of one variant
//   <root>/results/<model>_metrics.jsonl       compression metrics, one line per evaluation
//                                              (eval/compression_metrics.h)
//   <root>/comparisons/<model>_comparison.json fp32 vs quantized, with gates (report input)
//   <root>/state/<job>.json                    job status for skip-if-done and monitor
//   <root>/state/run.json                      the current or last run: jobs, start, pid
//   <root>/report.md, <root>/report.html       the summary
//
// The root is QUANTPIPE_TEMP_DIR, else MLX_TEMP_DIR (the seeds' name), else
// $TMPDIR/quantpipe, else /tmp/quantpipe.
#pragma once

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

namespace qp::pipeline {

class Workspace {
 public:
  explicit Workspace(std::filesystem::path root) : root_(std::move(root)) {}
  // The root chosen from the environment (see top).
  static Workspace from_environment();
  // `root` when given (a --workspace flag), else from_environment().
  static Workspace chosen(const std::string& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path log_file(const std::string& model) const;  // empty model: quantpipe.log
  std::filesystem::path model_dir(const std::string& model, const std::string& quant) const;
  std::filesystem::path conversion_results(const std::string& model) const;
  std::filesystem::path test_results(const std::string& model, const std::string& quant) const;
  std::filesystem::path comparison(const std::string& model) const;
  std::filesystem::path compression_metrics(const std::string& model) const;
  std::filesystem::path comparisons_dir() const { return root_ / "comparisons"; }
  std::filesystem::path job_state(const std::string& job_id) const;
  std::filesystem::path state_dir() const { return root_ / "state"; }
  std::filesystem::path run_state() const { return root_ / "state" / "run.json"; }
  std::filesystem::path dataset_cache() const { return root_ / "cache" / "datasets"; }
  std::filesystem::path report_markdown() const { return root_ / "report.md"; }
  std::filesystem::path report_html() const { return root_ / "report.html"; }

  // Creates the directories above; throws qp::Error naming the one that failed.
  void create_layout() const;

 private:
  std::filesystem::path root_;
};

// Appends timestamped lines to one workspace log file (thread-safe). Opened
// lazily so a dry run creates nothing.
class JobLog {
 public:
  JobLog(const Workspace& workspace, const std::string& model);
  void line(const std::string& text);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::mutex mutex_;
};

}  // namespace qp::pipeline
