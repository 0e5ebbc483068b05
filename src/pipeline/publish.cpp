#include "pipeline/publish.h"

#include "core/error.h"
#include "core/json_read.h"
#include "eval/report_data.h"

namespace qp::pipeline {
namespace fs = std::filesystem;

HubCommit publish_model(const PublishRequest& request, const HubClient& client) {
  check_hub_repo_id(request.repo);
  require_hub_token(client.options(), cat("uploading to ", request.repo));
  if (!fs::exists(request.model_dir / "quantpipe.json"))
    fail(request.model_dir.string(),
         ": not a quantpipe model directory (no quantpipe.json); convert a model first with quantpipe "
         "convert");
  const std::string card =
      make_model_card({request.model_dir, request.repo, request.base_model, request.evaluations});
  HubUploadRequest upload;
  upload.repo = request.repo;
  upload.revision = request.revision;
  upload.private_repo = request.private_repo;
  upload.progress = request.progress;
  for (UploadFile& file : files_in_dir(request.model_dir))
    if (file.path != "README.md") upload.files.push_back(std::move(file));
  upload.files.push_back({"README.md", {}, card});
  const nlohmann::json meta = read_json_object_file(request.model_dir / "quantpipe.json");
  const std::string scheme = meta.contains("plan") ? meta["plan"].value("linear", "") : "";
  upload.summary = request.message.empty()
                       ? cat("Upload ", scheme.empty() ? "quantized" : scheme, " model with quantpipe")
                       : request.message;
  upload.description =
      cat("Converted by quantpipe from ", request.base_model.empty() ? "a local model" : request.base_model,
          "; ", request.evaluations.count(), " evaluation(s) in the model card.");
  return upload_to_hub(upload, client);
}

UploadTarget parse_upload_target(const std::string& text) {
  UploadTarget target;
  std::string rest = text;
  if (const auto eq = rest.find('='); eq != std::string::npos) {
    target.repo = rest.substr(eq + 1);
    rest = rest.substr(0, eq);
    check_hub_repo_id(target.repo);
  }
  const auto colon = rest.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(':', colon + 1) != std::string::npos)
    fail("'", text,
         "': expected MODEL:QUANT[=OWNER/NAME], a model name from the config and its quantization as the "
         "pipeline names it (e.g. minilm:q8_sym_ch; see --dry-run)");
  target.model = rest.substr(0, colon);
  target.quant = rest.substr(colon + 1);
  return target;
}

const Job& conversion_for(const Plan& plan, const UploadTarget& target) {
  std::string known;
  for (const Job& job : plan.jobs) {
    if (job.kind != JobKind::Convert) continue;
    if (job.model->name == target.model && job.quant == target.quant) return job;
    known += cat(known.empty() ? "" : ", ", job.model->name, ":", job.quant);
  }
  fail("--upload ", target.model, ":", target.quant,
       ": the plan converts no such model and quantization (it has: ", known.empty() ? "none" : known, ")");
}

GateVerdict upload_gate_verdict(const Job& conversion, const Workspace& workspace) {
  GateVerdict verdict;
  const std::string name = cat(conversion.model->name, ":", conversion.quant);
  if (!fs::exists(conversion.output / "quantpipe.json")) {
    verdict.why = cat(name, " was not converted (", conversion.output.string(), " has no quantpipe.json)");
    return verdict;
  }
  verdict.evaluations = find_evaluations(conversion.output, workspace.root());
  if (verdict.evaluations.count() == 0) {
    verdict.why = cat(name, " has no evaluation in ", workspace.root().string(),
                      ", so no gate vouches for it (give the model a benchmark, or upload it by hand with "
                      "quantpipe upload)");
    return verdict;
  }
  std::string failed;
  for (const eval::report::ModelView& m : eval::report::read_models({verdict.evaluations.doc}))
    for (const eval::report::EntryView& e : m.entries) {
      if (e.passed.value_or(false)) continue;
      std::string gates;
      for (const eval::report::GateView& g : e.gates)
        if (!g.passed) gates += cat(gates.empty() ? "" : "; ", g.name, ": ", g.detail);
      failed +=
          cat(failed.empty() ? "" : ", ", "on ", e.dataset, " (", gates.empty() ? "no verdict" : gates, ")");
    }
  if (!failed.empty()) {
    verdict.why = cat(name, " failed its quality gates ", failed);
    return verdict;
  }
  verdict.passed = true;
  return verdict;
}

}  // namespace qp::pipeline
