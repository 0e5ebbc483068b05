#include "pipeline/job_state.h"

#include <chrono>
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

void write_job_state(const Workspace& workspace, const JobState& s) {
  const nlohmann::json doc = {
      {"id", s.id},           {"status", to_string(s.status)}, {"fingerprint", s.fingerprint},
      {"started", s.started}, {"finished", s.finished},        {"error", s.error}};
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
