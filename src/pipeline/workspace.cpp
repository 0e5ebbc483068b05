#include "pipeline/workspace.h"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "core/error.h"

namespace qp::pipeline {
namespace {

std::filesystem::path env_path(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? std::filesystem::path(value) : std::filesystem::path();
}

std::string timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

}  // namespace

Workspace Workspace::from_environment() {
  for (const char* name : {"QUANTPIPE_TEMP_DIR", "MLX_TEMP_DIR"})
    if (std::filesystem::path root = env_path(name); !root.empty()) return Workspace(root);
  std::filesystem::path tmp = env_path("TMPDIR");
  return Workspace((tmp.empty() ? std::filesystem::path("/tmp") : tmp) / "quantpipe");
}

Workspace Workspace::chosen(const std::string& root) {
  return root.empty() ? from_environment() : Workspace(root);
}

std::filesystem::path Workspace::log_file(const std::string& model) const {
  return root_ / "logs" / (model.empty() ? "quantpipe.log" : "conversion_" + model + ".log");
}
std::filesystem::path Workspace::model_dir(const std::string& model, const std::string& quant) const {
  return root_ / "models" / (model + "_" + quant);
}
std::filesystem::path Workspace::conversion_results(const std::string& model) const {
  return root_ / "results" / (model + "_conversion.json");
}
std::filesystem::path Workspace::test_results(const std::string& model, const std::string& quant) const {
  return root_ / "test_results" / (model + "_" + quant + "_results.json");
}
std::filesystem::path Workspace::compression_metrics(const std::string& model) const {
  return root_ / "results" / (model + "_metrics.jsonl");
}

std::filesystem::path Workspace::comparison(const std::string& model) const {
  return comparisons_dir() / (model + "_comparison.json");
}
std::filesystem::path Workspace::job_state(const std::string& job_id) const {
  return state_dir() / (job_id + ".json");
}

void Workspace::create_layout() const {
  for (const char* sub : {"logs", "models", "results", "test_results", "comparisons", "state"}) {
    std::error_code ec;
    std::filesystem::create_directories(root_ / sub, ec);
    if (ec) fail((root_ / sub).string(), ": cannot create workspace directory: ", ec.message());
  }
}

JobLog::JobLog(const Workspace& workspace, const std::string& model) : path_(workspace.log_file(model)) {}

void JobLog::line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!out_.is_open()) {
    std::filesystem::create_directories(path_.parent_path());
    out_.open(path_, std::ios::app);
    if (!out_) fail(path_.string(), ": cannot open log file for appending");
  }
  out_ << timestamp() << " " << text << "\n";
  out_.flush();
}

}  // namespace qp::pipeline
