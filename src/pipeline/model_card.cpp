#include "pipeline/model_card.h"

#include <cmath>
#include <map>
#include <regex>

#include "core/build_info.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/json_read.h"
#include "eval/report_data.h"
#include "quant/scheme.h"

namespace qp::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

// The hub's pipeline_tag for each pipeline task (config `task:`).
const std::map<std::string, std::string> kPipelineTagOfTask = {
    {"classification", "text-classification"},
    {"nli", "text-classification"},
    {"zero-shot", "zero-shot-classification"},
    {"embedding", "sentence-similarity"},
};

std::string string_at(const json& doc, std::initializer_list<const char*> keys) {
  const json* at = &doc;
  for (const char* key : keys) {
    if (!at->is_object() || !at->contains(key)) return "";
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

// Same source weights and the same plan: the same converted model, wherever it lies.
bool same_conversion(const json& entry, const json& meta) {
  if (!entry.contains("conversion") || !entry["conversion"].is_object()) return false;
  const json& conversion = entry["conversion"];
  const std::string fingerprint = string_at(meta, {"source", "fingerprint"});
  return !fingerprint.empty() && fingerprint == string_at(conversion, {"source", "fingerprint"}) &&
         meta.contains("plan") && conversion.value("plan", json()) == meta["plan"];
}

// The hub's pipeline_tag when the task is not known from a workspace: from
// the files the model carries.
std::string pipeline_tag_from_files(const fs::path& dir) {
  if (fs::exists(dir / "modules.json")) return "sentence-similarity";
  const std::optional<json> config = read_json_object(dir / "config.json");
  if (config && config->contains("architectures") && (*config)["architectures"].is_array())
    for (const json& name : (*config)["architectures"])
      if (name.is_string() && name.get<std::string>().find("ForSequenceClassification") != std::string::npos)
        return "text-classification";
  return "feature-extraction";
}

// A YAML scalar: plain when it is safe so, else double-quoted (JSON's quoting is valid YAML).
std::string yaml_scalar(const std::string& text) {
  static const std::regex plain(R"([A-Za-z0-9][A-Za-z0-9_./-]*)");
  return std::regex_match(text, plain) ? text : json(text).dump();
}

// Text safe inside a Markdown table cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '<')
      out += "&lt;";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string megabytes(double bytes) { return eval::report::number(bytes / 1e6, 2) + " MB"; }

std::string size_line(const json& meta) {
  const json sizes = meta.value("sizes", json::object());
  const double original = sizes.value("original_bytes", 0.0), stored = sizes.value("quantized_bytes", 0.0);
  if (stored <= 0) return "–";
  std::string line = megabytes(stored) + " of weights";
  if (original > 0)
    line += ", from " + megabytes(original) + " in the source (" +
            eval::report::number(original / stored, 2) + "× smaller)";
  return line;
}

std::string evaluation_section(const ModelEvaluations& evaluations) {
  std::string out = "## Evaluation\n\n";
  if (evaluations.count() == 0)
    return out +
           "Not evaluated: no `quantpipe pipeline` results were found for this model (run the pipeline, or "
           "pass "
           "`--workspace` to `quantpipe upload`).\n\n";
  const std::vector<eval::report::ModelView> models = eval::report::read_models({evaluations.doc});
  const eval::report::ModelView& m = models.at(0);
  out += "Measured by `quantpipe pipeline` (model `" + cell(m.name) + "`" +
         (m.tool.empty() ? "" : ", " + cell(m.tool)) +
         "): the fp32 source and this model on the same inputs, one row each.\n\n";
  const std::vector<std::string>& header = eval::report::table_header();
  out += "|";
  for (const std::string& name : header) out += " " + cell(name) + " |";
  out += "\n|---|---|";
  for (size_t i = 2; i < header.size(); ++i) out += "---:|";
  out += "\n";
  for (const eval::report::TableRow& row : eval::report::table_rows(m.entries)) {
    out += "|";
    for (const std::string& value : row.cells) {
      // Appended piece by piece: `"literal" + std::string&&` trips GCC 12's -Wrestrict false positive.
      out += ' ';
      out += cell(value);
      out += " |";
    }
    out += "\n";
  }
  out += "\n### Quality gates\n\n";
  for (const eval::report::EntryView& e : m.entries) {
    out += "- **" + eval::report::verdict(e.passed) + "** on " + cell(e.dataset) + "\n";
    for (const eval::report::GateView& g : e.gates)
      out += "  - " + std::string(g.passed ? (g.warning ? "warning" : "pass") : "FAIL") + " " + cell(g.name) +
             (g.detail.empty() ? "" : ": " + cell(g.detail)) + "\n";
  }
  return out + "\n";
}

}  // namespace

std::optional<fs::path> workspace_of(const fs::path& model_dir) {
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(model_dir), ec);
  if (ec || dir.parent_path().filename() != "models") return std::nullopt;
  const fs::path root = dir.parent_path().parent_path();
  if (!fs::is_directory(root / "comparisons", ec)) return std::nullopt;
  return root;
}

ModelEvaluations find_evaluations(const fs::path& model_dir, const fs::path& workspace) {
  const std::optional<json> meta = read_json_object(model_dir / "quantpipe.json");
  ModelEvaluations found;
  std::error_code ec;
  if (!fs::is_directory(workspace / "comparisons", ec)) return found;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(workspace / "comparisons", ec))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::optional<json> doc = read_json_object(file);
    if (!doc || !doc->contains("entries") || !(*doc)["entries"].is_array()) continue;
    json entries = json::array();
    for (const json& entry : (*doc)["entries"]) {
      const std::string path = entry.is_object() ? entry.value("quantized_path", "") : "";
      if ((!path.empty() && same_path(path, model_dir)) || (meta && same_conversion(entry, *meta)))
        entries.push_back(entry);
    }
    if (entries.empty()) continue;
    if (found.count() == 0) {
      found.doc = *doc;
      found.doc["entries"] = entries;
    } else {
      for (json& entry : entries) found.doc["entries"].push_back(std::move(entry));
    }
  }
  return found;
}

std::string hub_id_of_source(const std::string& source_path) {
  static const std::regex snapshot(R"((?:^|/)models--([^/]+?)--([^/]+)/snapshots/[^/]+/?$)");
  std::smatch match;
  if (!std::regex_search(source_path, match, snapshot)) return "";
  return match[1].str() + "/" + match[2].str();
}

std::string make_model_card(const ModelCardInput& input) {
  const json meta = read_json_object_file(input.model_dir / "quantpipe.json");
  const std::string scheme = string_at(meta, {"plan", "linear"});
  const std::string base =
      input.base_model.empty() ? hub_id_of_source(string_at(meta, {"source", "path"})) : input.base_model;
  std::string bits_tag;
  if (scheme.rfind("ternary", 0) == 0) {
    bits_tag = "ternary";
  } else if (!scheme.empty()) {
    try {
      bits_tag = cat(quant::parse_scheme(scheme).bits, "-bit");
    } catch (const Error&) {
      // an unknown scheme name: no bits tag
    }
  }
  const std::string task = string_at(input.evaluations.doc, {"task"});
  const auto tag = kPipelineTagOfTask.find(task);
  const std::string pipeline_tag =
      tag != kPipelineTagOfTask.end() ? tag->second : pipeline_tag_from_files(input.model_dir);

  std::string out = "---\n";
  if (!base.empty()) out += "base_model: " + yaml_scalar(base) + "\n";
  out += "tags:\n- quantpipe\n- quantized\n";
  if (!bits_tag.empty()) out += "- " + yaml_scalar(bits_tag) + "\n";
  if (!scheme.empty()) out += "- " + yaml_scalar(scheme) + "\n";
  out += "library_name: quantpipe\npipeline_tag: " + pipeline_tag + "\n---\n\n";

  out += "# " + input.repo + "\n\n";
  out += "A quantized copy of " +
         (base.empty() ? std::string("a Hugging Face encoder")
                       : "[" + base + "](https://huggingface.co/" + base + ")") +
         ", made with quantpipe " + string_at(meta, {"tool", "version"}) + ".\n\n";
  out += "| | |\n|---|---|\n";
  out += "| Scheme | " + cell(scheme.empty() ? "–" : scheme) +
         " (linear layers); embeddings: " + cell(string_at(meta, {"plan", "embedding"})) + " |\n";
  out += "| Size | " + size_line(meta) + " |\n";
  out +=
      "| Format | quantpipe-native: packed integers in MLX's affine layout (config.json `quantization`), "
      "the conversion described in quantpipe.json |\n\n";
  out += evaluation_section(input.evaluations);
  const std::string use = pipeline_tag == "text-classification" || pipeline_tag == "zero-shot-classification"
                              ? "classify"
                              : "embed";
  out += "## Use\n\n```sh\nquantpipe " + use + " --model " + input.repo + " --input texts.jsonl\n```\n";
  return out;
}

}  // namespace qp::pipeline
