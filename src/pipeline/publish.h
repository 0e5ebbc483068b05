// Publishing a converted model on the Hugging Face hub: its files plus a
// generated model card (model_card.h) in one commit (io/hub_upload.h). Used by
// `quantpipe upload` and by `quantpipe pipeline --upload MODEL:QUANT`, which
// publishes only a model whose evaluations all passed their gates.
//
// The card is staged in memory, never written into the model directory: that
// directory may be a pipeline output whose files the skip check compares, a
// README.md there is usually the fp32 source's card (convert copies it) and
// describes another model, and the metrics it would hold go stale with the
// next run. The upload's README.md is always the generated card.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/hub_upload.h"
#include "pipeline/model_card.h"
#include "pipeline/plan.h"

namespace qp::pipeline {

struct PublishRequest {
  std::filesystem::path model_dir;  // quantpipe-native (quantpipe.json)
  std::string repo;                 // owner/name
  std::string revision = "main";
  bool private_repo = false;
  std::string message;     // the commit title; empty: "Upload <scheme> model with quantpipe"
  std::string base_model;  // empty: from quantpipe.json
  ModelEvaluations evaluations;
  bool progress = false;  // bars for LFS uploads (stderr is a terminal)
};

HubCommit publish_model(const PublishRequest& request, const HubClient& client);

// `--upload MODEL:QUANT[=OWNER/NAME]`.
struct UploadTarget {
  std::string model, quant;
  std::string repo;  // empty: the model's upload_repo, else the default (config.h)
};
// Throws qp::Error saying the expected form.
UploadTarget parse_upload_target(const std::string& text);

// The plan's conversion job for target; throws qp::Error listing the
// model:quant names the plan has when there is none.
const Job& conversion_for(const Plan& plan, const UploadTarget& target);

// Whether every evaluation of the job's model directory passed its gates;
// `why` says what failed (or that nothing was evaluated).
struct GateVerdict {
  bool passed = false;
  std::string why;
  ModelEvaluations evaluations;
};
GateVerdict upload_gate_verdict(const Job& conversion, const Workspace& workspace);

}  // namespace qp::pipeline
