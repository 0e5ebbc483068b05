// Pipeline configuration: YAML files parsed into plain structs, with defaults
// filled in and everything checked once at load time, so the rest of the
// pipeline never re-validates and never sees YAML.
//
// A config file has a top-level map with `models:` (a list of maps) and/or
// `datasets:`, either a list of maps each with its `name:`, or a map keyed by
// dataset name as the original pipeline's datasets.yaml has it (there `name:`
// is the hub dataset path, quantpipe's `hf_name:`). Several files are merged;
// names must be unique across all of them and every model benchmark must name a
// dataset defined in one of them.
//
// Relative paths (model `path`, dataset `path`, `preprocessing.cache_dir`) are
// resolved against the directory of the config file that contains them, so a
// config means the same thing whatever the working directory is.
//
// Errors are qp::Error with "<file>:<line>: <key>: <what>", e.g.
// "configs/models.yaml:14: models[2].quantization.bits: expected one of 8, 6,
// 5, 4, 3, 2, ternary, got 7".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/datasets.h"
#include "quant/convert.h"
#include "quant/scheme.h"

namespace qp::pipeline {

// Where an entry was declared, kept for messages raised after loading (gates,
// reports) that should point back at the config.
struct ConfigSource {
  std::string file;
  int line = 0;  // 1-based

  std::string str() const;  // "file:line"
};

enum class ModelTask { Classification, Nli, Embedding, ZeroShot };
enum class SchemeKind { Symmetric, Affine };
enum class DatasetProvider { HuggingFace, Local };
enum class DatasetFormat { Jsonl, Csv, Tsv };

// The YAML spelling of each enum value ("zero-shot", "sym", "huggingface", "tsv").
std::string_view to_string(ModelTask task);
std::string_view to_string(SchemeKind kind);
std::string_view to_string(DatasetProvider provider);
std::string_view to_string(DatasetFormat format);

struct QuantizationConfig;
// The method a quantization entry uses: its `method`, else the default for its scheme.
quant::QuantMethod effective_method(const QuantizationConfig& q);

// One quantized variant of a model and the gates it must pass.
// `finetune: {qat_threshold: 0.05, epochs: 3, samples: 5000, learning_rate:
// 1e-4, dataset: NAME}` of a quantization (or `finetune: true`): when an
// evaluation's drop exceeds qat_threshold (a fraction of the metric's
// scale, as max_accuracy_drop: 0.05 is 5 points), the conversion is
// fine-tuned (quantization-aware, distilled from its fp32 source; train/)
// and evaluated again. The text is unlabelled: `dataset`, else the model's
// calibration dataset, else the shipped corpus — never a dataset the model
// is judged on, so the drop after fine-tuning is measured on rows it never saw.
struct FinetuneConfig {
  bool enabled = false;
  double qat_threshold = 0.05;
  int epochs = 3;
  int samples = 5000;
  double learning_rate = 1e-4;
  std::string dataset;
};

struct QuantizationConfig {
  int bits = 8;          // 8, 6, 5, 4, 3 or 2; ignored when ternary
  bool ternary = false;  // `bits: ternary`
  // `bits: auto`: mixed precision, bits per tensor chosen within
  // target_size_mb and / or max_accuracy_drop (api/mixed_plan.h); the
  // scheme and granularity give the candidates' kind. When the gates fail,
  // the precision of the most sensitive tensors is raised and the variant is
  // converted and evaluated again, at most max_raises times.
  bool automatic = false;
  int max_raises = 2;
  std::string dtype;  // informational ("int8", "int4"); not used to pick the scheme
  int group_size = 64;
  SchemeKind scheme = SchemeKind::Affine;  // ignored when ternary
  bool per_channel = false;                // one scale per output row instead of per group
  std::optional<double> target_size_mb;
  // Largest allowed drop of the primary metric below fp32, as a fraction of the
  // metric's scale, as the original pipeline means it: 0.015 is 1.5 points of
  // accuracy. Values above 1 are refused at load (they are points written by mistake).
  std::optional<double> max_accuracy_drop;
  // Gate thresholds with their defaults (see eval/gates.h).
  double min_speedup = 1.2;     // quantized ÷ fp32 queries per minute
  double size_tolerance = 0.1;  // fraction of target_size_mb
  double min_agreement = 0.85;  // label agreement with fp32 (collapse floor)
  double min_cosine = 0.90;     // mean cosine with fp32 embeddings (collapse floor)
  // `method: rtn | gptq`: how codes are chosen (GPTQ calibrates on the
  // model's calibration text, see CalibrationConfig).
  // Unset: quant::default_method of the scheme (round to nearest for bits: auto).
  std::optional<quant::QuantMethod> method;
  FinetuneConfig finetune;
  ConfigSource source;
};

// `calibration: {dataset: NAME, samples: 256, max_length: 128}` of a model:
// the text GPTQ runs the fp32 model over. Without a dataset the model's first
// benchmark dataset is used, else the corpus shipped with quantpipe (api/calibration.h).
struct CalibrationConfig {
  std::string dataset;  // empty: the fallback chain
  int samples = 256;
  int max_length = 128;
};

struct ModelConfig {
  std::string name;
  std::string hf_name;         // hub id; exactly one of hf_name and path is set
  std::filesystem::path path;  // local model directory, resolved (see top)
  ModelTask task = ModelTask::Classification;
  std::vector<QuantizationConfig> quantization;  // at least one
  std::vector<std::string> benchmarks;           // dataset names
  CalibrationConfig calibration;
  // `note:`, free text the report shows under the model's name: what a
  // reader should know about it ("deliberately weak: …"). Not part of any
  // job's identity: changing it reruns nothing.
  std::string note;
  // `upload_repo:`, the hub repo `pipeline --upload` sends this model's
  // quantizations to, "{quant}" (and "{model}") replaced by their names, e.g.
  // "my-org/minilm-{quant}". Empty: <token's user>/<name>-<quant>-quantpipe.
  std::string upload_repo;
  ConfigSource source;
};

// The upload repo of one quantization of model (see upload_repo), with the
// user name for the default one.
// The quantization's name in job ids and workspace paths: the scheme name,
// with "_gptq" for GPTQ ("q2_affine_g64_gptq").
std::string quant_name(const QuantizationConfig& q);

std::string upload_repo_for(const ModelConfig& model, const std::string& quant,
                            const std::string& user = "user");

struct Preprocessing {
  int max_length = 128;
  bool truncation = true;                             // false when the strategy is do_not_truncate
  std::string truncation_strategy = "longest_first";  // as written: longest_first, only_first, …
  std::string padding = "longest";                    // longest | max_length | none
  std::filesystem::path cache_dir;                    // empty: the pipeline's default
};

struct DatasetConfig {
  std::string name;
  DatasetProvider provider = DatasetProvider::Local;
  std::string hf_name;  // hub dataset id, e.g. "glue" (huggingface only)
  std::string subset;   // e.g. "mnli"
  // The splits evaluated, concatenated in order. `splits:` is a list, or a map
  // of role → split ({train: train, validation: validation}), of which the
  // `validation` split (else `test`) is evaluated: evaluation never trains.
  std::vector<std::string> splits = {"validation"};
  std::vector<std::string> metrics;  // at least one
  Preprocessing preprocessing;
  std::filesystem::path path;                   // local only, resolved (see top)
  DatasetFormat format = DatasetFormat::Jsonl;  // local only; from the extension when absent
  ColumnMapping columns;
  std::map<std::string, std::string> label_mapping;  // dataset label value → model label name
  std::optional<int64_t> limit;                      // at most this many rows, spread evenly
  // Zero-shot classification with an NLI model: each text is paired with the
  // template filled with each candidate label ({} is replaced by the label).
  std::vector<std::string> candidate_labels;  // empty: not a zero-shot dataset
  std::string hypothesis_template = "This example is {}.";
  ConfigSource source;
};

struct PipelineConfig {
  std::vector<ModelConfig> models;
  std::vector<DatasetConfig> datasets;
  std::vector<std::string> files;  // the files read, in order

  const DatasetConfig* find_dataset(std::string_view name) const;
};

// Loads and merges every file matched by the patterns (plain paths or glob(3)
// patterns); throws qp::Error naming the file, line and key of the problem.
PipelineConfig load_pipeline_config(const std::vector<std::string>& patterns);

// The scheme name a quantization entry stands for: bits 8 + sym + per_channel →
// "q8_sym_ch", bits 4 + group 64 → "q4_affine_g64", ternary → "ternary_g64".
std::string scheme_name(const QuantizationConfig& quantization);
// The parsed scheme; throws the scheme's own error when the combination is invalid.
quant::QuantScheme resolve_scheme(const QuantizationConfig& quantization);

}  // namespace qp::pipeline
