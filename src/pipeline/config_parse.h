// One config document → structs. Internal to src/pipeline: load_pipeline_config
// reads the files, calls this per file, then merges and cross-checks.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/yaml_field.h"

namespace qp::pipeline {

// A model's benchmark entry, checked against the datasets once every file is read.
struct BenchmarkRef {
  std::string model;
  std::string dataset;
  YamlField where;
};

struct ParsedFile {
  PipelineConfig config;
  std::vector<BenchmarkRef> benchmarks;
};

// Parses a loaded document; fails on an empty one or one defining nothing.
ParsedFile parse_config_document(const YAML::Node& root, const std::string& file);

}  // namespace qp::pipeline
