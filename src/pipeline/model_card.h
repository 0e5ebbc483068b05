// The model card (README.md) of an uploaded quantized model: YAML front
// matter the hub reads (base_model, tags, library_name, pipeline_tag) and a
// body naming the scheme and the size and, when the model was evaluated in a
// pipeline workspace, the measured metrics and the gate results of every
// evaluation of it, as the workspace's comparison documents hold them.
//
// Which evaluations belong to a model directory: the comparison entries whose
// quantized_path is that directory, or whose conversion (quantpipe.json) has
// the same source fingerprint and plan, so a copy of the directory is found
// too.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qp::pipeline {

// A model's comparison document (comparisons/<model>_comparison.json) cut to
// the entries that evaluated one converted directory.
struct ModelEvaluations {
  nlohmann::json doc;  // {"model", "source", "task", ..., "entries": [the matching ones]}
  size_t count() const { return doc.is_object() && doc.contains("entries") ? doc["entries"].size() : 0; }
};

// The workspace root a converted directory lies in (<root>/models/<model>_<quant>
// with <root>/comparisons beside it), else none.
std::optional<std::filesystem::path> workspace_of(const std::filesystem::path& model_dir);

// Every evaluation of model_dir stored in the workspace (an empty result when none).
ModelEvaluations find_evaluations(const std::filesystem::path& model_dir,
                                  const std::filesystem::path& workspace);

// "org/name" when quantpipe.json's source.path is a huggingface_hub cache
// snapshot (…/models--org--name/snapshots/<sha>), else "".
std::string hub_id_of_source(const std::string& source_path);

struct ModelCardInput {
  std::filesystem::path model_dir;  // a quantpipe-native directory (quantpipe.json)
  std::string repo;                 // where it goes: the card's title and the usage lines
  std::string base_model;           // empty: from quantpipe.json (hub_id_of_source)
  ModelEvaluations evaluations;     // empty: the card says the model was not evaluated
};

// The README.md text. Throws qp::Error naming the file when quantpipe.json is
// missing or unreadable.
std::string make_model_card(const ModelCardInput& input);

}  // namespace qp::pipeline
