#include "pipeline/skip_check.h"

#include "core/error.h"
#include "core/json_file.h"
#include "quant/convert.h"

namespace qp::pipeline {
namespace fs = std::filesystem;
namespace {

bool finished(const JobState& state) {
  return state.status == JobStatus::Done || state.status == JobStatus::Skipped;
}

std::string json_string(const nlohmann::json& doc, const char* outer, const char* inner) {
  const auto a = doc.find(outer);
  if (a == doc.end() || !a->is_object()) return "";
  const auto b = a->find(inner);
  return b != a->end() && b->is_string() ? b->get<std::string>() : "";
}

// quantpipe.json must describe this conversion, not another one written into the directory.
std::string metadata_problem(const Job& job) {
  const fs::path path = job.output / "quantpipe.json";
  const std::optional<nlohmann::json> meta = read_json_object(path);
  if (!meta) return cat(path.string(), " is unreadable");
  const std::string source = json_string(*meta, "source", "fingerprint");
  if (source != job.source_fingerprint)
    return cat(path.string(), " names source fingerprint '", source, "', the source model's is '",
               job.source_fingerprint, "'");
  const std::string linear = json_string(*meta, "plan", "linear");
  const std::string expected = quant::format_scheme(resolve_scheme(*job.quantization));
  if (linear != expected)
    return cat(path.string(), " names linear scheme '", linear, "', the plan's is '", expected, "'");
  return "";
}

}  // namespace

std::map<std::string, int64_t> list_output_files(const fs::path& dir) {
  std::map<std::string, int64_t> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec))
      files[it->path().lexically_relative(dir).string()] = static_cast<int64_t>(it->file_size(ec));
  return files;
}

std::string output_problem(const Job& job, const JobState& state) {
  std::error_code ec;
  if (!fs::is_directory(job.output, ec)) return cat(job.output.string(), " is missing");
  if (state.output_files.empty())
    return cat("the state of ", job.id, " records no output files (written by an older quantpipe)");
  for (const auto& [name, bytes] : state.output_files) {
    const fs::path path = job.output / name;
    const auto size = fs::file_size(path, ec);
    if (ec) return cat(path.string(), " is missing");
    if (static_cast<int64_t>(size) != bytes)
      return cat(path.string(), " is ", size, " bytes, ", bytes, " when it was converted");
  }
  return metadata_problem(job);
}

std::optional<nlohmann::json> stored_evaluation(const Job& job, const Workspace& workspace) {
  const std::optional<nlohmann::json> doc =
      read_json_object(workspace.test_results(job.model->name, job.quant));
  if (!doc || !doc->contains("datasets") || !(*doc)["datasets"].is_object() ||
      !(*doc)["datasets"].contains(job.dataset->name))
    return std::nullopt;
  return (*doc)["datasets"][job.dataset->name];
}

bool is_up_to_date(const Job& job, const Workspace& workspace) {
  if (job.fingerprint.empty()) return false;
  const std::optional<JobState> state = read_job_state(workspace, job.id);
  if (!state || state->fingerprint != job.fingerprint || !finished(*state)) return false;
  if (job.kind == JobKind::Convert) return output_problem(job, *state).empty();
  const std::optional<nlohmann::json> entry = stored_evaluation(job, workspace);
  return entry && entry->is_object() && entry->value("fingerprint", "") == job.fingerprint;
}

SkipCheck check_skips(const Plan& plan, const Workspace& workspace) {
  SkipCheck check;
  for (const Job& job : plan.jobs) {
    const bool dependency_reruns =
        job.kind == JobKind::Evaluate && !check.up_to_date.count(job.conversion_id);
    if (is_up_to_date(job, workspace)) {
      if (!dependency_reruns) {
        check.up_to_date.insert(job.id);
      } else {
        check.reruns[job.id] = cat(job.conversion_id, " runs again");
      }
      continue;
    }
    // Say why only when the state claims a valid result; new work needs no reason.
    const std::optional<JobState> state = read_job_state(workspace, job.id);
    if (job.kind == JobKind::Convert && state && finished(*state) && state->fingerprint == job.fingerprint &&
        !job.fingerprint.empty())
      check.reruns[job.id] = cat("its output changed since it was converted: ", output_problem(job, *state));
  }
  return check;
}

}  // namespace qp::pipeline
