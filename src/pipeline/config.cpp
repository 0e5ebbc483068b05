// Finding config files, reading them, merging them and the cross-file checks.
#include "pipeline/config.h"

#include <glob.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

#include "core/error.h"
#include "pipeline/config_parse.h"
#include "pipeline/yaml_stream_check.h"

namespace qp::pipeline {
namespace {

bool has_glob_chars(const std::string& pattern) { return pattern.find_first_of("*?[") != std::string::npos; }

// The files one pattern names, sorted (glob's default order).
std::vector<std::string> expand_pattern(const std::string& pattern) {
  if (!has_glob_chars(pattern)) {
    if (!std::filesystem::is_regular_file(pattern)) fail("config file '", pattern, "' does not exist");
    return {pattern};
  }
  glob_t matches{};
  const int rc = glob(pattern.c_str(), 0, nullptr, &matches);
  std::unique_ptr<glob_t, void (*)(glob_t*)> release(&matches, globfree);
  if (rc == GLOB_NOMATCH) fail("no config files match '", pattern, "'");
  if (rc != 0) fail("cannot expand config pattern '", pattern, "' (glob error ", rc, ")");
  std::vector<std::string> files;
  for (size_t i = 0; i < matches.gl_pathc; ++i)
    if (std::filesystem::is_regular_file(matches.gl_pathv[i])) files.emplace_back(matches.gl_pathv[i]);
  if (files.empty()) fail("no config files match '", pattern, "'");
  return files;
}

// Every file once, in pattern order, even when two patterns overlap
// ("configs/*.yaml configs/models.yaml"), so nothing is reported as a duplicate of itself.
std::vector<std::string> expand_patterns(const std::vector<std::string>& patterns) {
  if (patterns.empty()) fail("no config files given");
  std::vector<std::string> files;
  std::set<std::filesystem::path> seen;
  for (const std::string& pattern : patterns)
    for (std::string& file : expand_pattern(pattern))
      if (seen.insert(std::filesystem::weakly_canonical(file)).second) files.push_back(std::move(file));
  return files;
}

// One document per file, within the depth and alias-expansion limits
// (yaml_stream_check.h), checked before yaml-cpp builds the tree.
YAML::Node load_yaml(const std::string& file) {
  try {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file, ": cannot open config file");
    const YamlStreamShape shape = check_yaml_stream(in, file);
    if (shape.documents > 1)
      fail(file, ":", shape.second_document_line, ": a second YAML document ('---'); quantpipe reads one ",
           "document per config file: put it in a file of its own");
    return shape.documents == 0 ? YAML::Node() : YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    fail(file, ": cannot open config file");
  } catch (const YAML::ParserException& e) {
    fail(file, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg);
  }
}

// Appends items, refusing a name already defined here or in an earlier file.
template <typename Item>
void append_unique(std::vector<Item>& all, std::vector<Item>& more, std::string_view what) {
  for (Item& item : more) {
    for (const Item& existing : all)
      if (existing.name == item.name)
        fail(item.source.str(), ": duplicate ", what, " '", item.name, "' (first defined at ",
             existing.source.str(), ")");
    all.push_back(std::move(item));
  }
}

void check_benchmarks(const PipelineConfig& config, const std::vector<BenchmarkRef>& refs) {
  for (const BenchmarkRef& ref : refs) {
    if (config.find_dataset(ref.dataset)) continue;
    std::string known;
    for (const DatasetConfig& d : config.datasets) known += cat(known.empty() ? "" : ", ", d.name);
    ref.where.fail(cat("model '", ref.model, "' names unknown dataset '", ref.dataset,
                       "' (defined: ", known.empty() ? "none" : known, ")"));
  }
}

}  // namespace

std::string ConfigSource::str() const { return line > 0 ? cat(file, ":", line) : file; }

const DatasetConfig* PipelineConfig::find_dataset(std::string_view name) const {
  for (const DatasetConfig& dataset : datasets)
    if (dataset.name == name) return &dataset;
  return nullptr;
}

PipelineConfig load_pipeline_config(const std::vector<std::string>& patterns) {
  PipelineConfig config;
  std::vector<BenchmarkRef> refs;
  for (const std::string& file : expand_patterns(patterns)) {
    ParsedFile parsed = parse_config_document(load_yaml(file), file);
    append_unique(config.models, parsed.config.models, "model");
    append_unique(config.datasets, parsed.config.datasets, "dataset");
    config.files.push_back(file);
    refs.insert(refs.end(), parsed.benchmarks.begin(), parsed.benchmarks.end());
  }
  // After the merge: a model may benchmark a dataset defined in another file.
  check_benchmarks(config, refs);
  return config;
}

std::string scheme_name(const QuantizationConfig& q) {
  const std::string granularity = q.per_channel ? "ch" : cat("g", q.group_size);
  if (q.ternary) return "ternary_" + granularity;
  return cat("q", q.bits, "_", to_string(q.scheme), "_", granularity);
}

namespace {
// "15", "12.5": a number as short as it is exact enough for a directory name.
std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}
}  // namespace

std::string quant_name(const QuantizationConfig& q) {
  std::string name = scheme_name(q);
  if (q.automatic) {
    name = q.scheme == SchemeKind::Symmetric ? "mixed_sym" : "mixed";
    if (q.target_size_mb) name += cat("_", short_number(*q.target_size_mb), "mb");
    if (q.max_accuracy_drop) name += cat("_drop", short_number(*q.max_accuracy_drop));
  }
  const quant::QuantMethod method = effective_method(q);
  return method == quant::QuantMethod::Rtn ? name : cat(name, "_", quant::method_name(method));
}

quant::QuantMethod effective_method(const QuantizationConfig& q) {
  if (q.method) return *q.method;
  return q.automatic ? quant::QuantMethod::Rtn : quant::default_method(resolve_scheme(q));
}

quant::QuantScheme resolve_scheme(const QuantizationConfig& q) { return quant::parse_scheme(scheme_name(q)); }

std::string upload_repo_for(const ModelConfig& model, const std::string& quant, const std::string& user) {
  if (model.upload_repo.empty()) return cat(user, "/", model.name, "-", quant, "-quantpipe");
  std::string repo = model.upload_repo;
  for (const auto& [placeholder, value] :
       {std::pair<std::string, std::string>{"{quant}", quant}, {"{model}", model.name}})
    for (size_t at = repo.find(placeholder); at != std::string::npos;
         at = repo.find(placeholder, at + value.size()))
      repo.replace(at, placeholder.size(), value);
  return repo;
}

}  // namespace qp::pipeline
