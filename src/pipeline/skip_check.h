// Whether finished work can be skipped. The state file alone is not trusted:
// a workspace model can be deleted or truncated behind the pipeline's back,
// and an evaluation of a model that is rebuilt must run again.
//
//   conversion  its state says done (or skipped) from the same fingerprint, the
//               output directory holds every file recorded when the conversion
//               finished, each with its recorded size, and its quantpipe.json
//               names the same source fingerprint and linear scheme
//   evaluation  its state says done (or skipped) from the same fingerprint, the
//               stored result entry carries that fingerprint, and its
//               conversion is skipped too
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "pipeline/job_state.h"
#include "pipeline/plan.h"
#include "pipeline/workspace.h"

namespace qp::pipeline {

// Every regular file under dir (path relative to dir → bytes), recorded in a
// finished conversion's state.
std::map<std::string, int64_t> list_output_files(const std::filesystem::path& dir);

// Why a conversion's output no longer matches what its state recorded ("" when it does).
std::string output_problem(const Job& conversion, const JobState& state);

// The stored result entry of an evaluation (test_results/<model>_<quant>_results.json).
std::optional<nlohmann::json> stored_evaluation(const Job& evaluation, const Workspace& workspace);

// Whether one job's finished result is still valid, leaving aside the jobs it depends on.
bool is_up_to_date(const Job& job, const Workspace& workspace);

struct SkipCheck {
  std::set<std::string> up_to_date;           // job ids that can be skipped
  std::map<std::string, std::string> reruns;  // id → why a finished result is not reused
};

// The jobs of a plan that can be skipped, dependencies included: an evaluation
// is skipped only when its conversion is.
SkipCheck check_skips(const Plan& plan, const Workspace& workspace);

}  // namespace qp::pipeline
