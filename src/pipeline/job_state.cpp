#include "pipeline/job_state.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/json_file.h"

namespace qp::pipeline {
namespace {

constexpr std::string_view kStatusNames[] = {"pending", "running", "done", "skipped", "failed"};

JobStatus status_from(const std::string& text) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i)
    if (kStatusNames[i] == text) return static_cast<JobStatus>(i);
  return JobStatus::Pending;
}

}  // namespace

std::string_view to_string(JobStatus status) { return kStatusNames[static_cast<int>(status)]; }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_time(double unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  localtime_r(&time, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

double JobState::last_touched() const { return std::max({started, finished, skipped_at}); }

void write_job_state(const Workspace& workspace, const JobState& s) {
  nlohmann::json doc = {
      {"id", s.id},           {"status", to_string(s.status)}, {"fingerprint", s.fingerprint},
      {"started", s.started}, {"finished", s.finished},        {"error", s.error}};
  if (s.skipped_at > 0) doc["skipped_at"] = s.skipped_at;
  if (!s.output_files.empty()) doc["output_files"] = s.output_files;
  write_file_atomic(workspace.job_state(s.id), doc.dump(2) + "\n");
}

std::optional<JobState> read_job_state(const Workspace& workspace, const std::string& id) {
  const std::optional<nlohmann::json> doc = read_json_object(workspace.job_state(id));
  if (!doc) return std::nullopt;
  JobState s;
  s.id = doc->value("id", id);
  s.status = status_from(doc->value("status", ""));
  s.fingerprint = doc->value("fingerprint", "");
  s.started = doc->value("started", 0.0);
  s.finished = doc->value("finished", 0.0);
  s.error = doc->value("error", "");
  s.skipped_at = doc->value("skipped_at", 0.0);
  if (auto files = doc->find("output_files"); files != doc->end() && files->is_object())
    for (const auto& [path, bytes] : files->items())
      if (bytes.is_number_integer()) s.output_files[path] = bytes.get<int64_t>();
  return s;
}

void write_run_state(const Workspace& workspace, const RunState& s) {
  const nlohmann::json doc = {{"pid", s.pid},
                              {"started", s.started},
                              {"finished", s.finished},
                              {"parallel_jobs", s.parallel_jobs},
                              {"jobs", s.job_ids}};
  write_file_atomic(workspace.run_state(), doc.dump(2) + "\n");
}

std::optional<RunState> read_run_state(const Workspace& workspace) {
  const std::optional<nlohmann::json> doc = read_json_object(workspace.run_state());
  if (!doc) return std::nullopt;
  RunState s;
  s.pid = doc->value("pid", 0LL);
  s.started = doc->value("started", 0.0);
  s.finished = doc->value("finished", 0.0);
  s.parallel_jobs = doc->value("parallel_jobs", 1);
  if (doc->contains("jobs") && (*doc)["jobs"].is_array())
    for (const auto& id : (*doc)["jobs"])
      if (id.is_string()) s.job_ids.push_back(id.get<std::string>());
  return s;
}

}  // namespace qp::pipeline
