// Parsing of models: and datasets: entries, with defaults and per-field checks.
#include "pipeline/config_parse.h"

#include <cctype>
#include <utility>

#include "core/error.h"
#include "eval/gates.h"
#include "io/hub_upload.h"

namespace qp::pipeline {
namespace {

// YAML spellings, one row per enum value; used both to parse and to print.
template <typename E>
using Names = std::vector<std::pair<E, std::string_view>>;

const Names<ModelTask>& task_names() {
  static const Names<ModelTask> names = {{ModelTask::Classification, "classification"},
                                         {ModelTask::Nli, "nli"},
                                         {ModelTask::Embedding, "embedding"},
                                         {ModelTask::ZeroShot, "zero-shot"}};
  return names;
}
// Other spellings of a task: the Hugging Face pipeline task names that the
// original pipeline's configs use, and its README's example value
// "classification-type", so a config in that format loads as it is.
const Names<ModelTask>& task_aliases() {
  static const Names<ModelTask> names = {
      {ModelTask::Classification, "text-classification"}, {ModelTask::Classification, "sentiment-analysis"},
      {ModelTask::Classification, "classification-type"}, {ModelTask::ZeroShot, "zero-shot-classification"},
      {ModelTask::Embedding, "feature-extraction"},       {ModelTask::Embedding, "sentence-similarity"}};
  return names;
}
const Names<SchemeKind>& kind_names() {
  static const Names<SchemeKind> names = {{SchemeKind::Symmetric, "sym"}, {SchemeKind::Affine, "affine"}};
  return names;
}
const Names<DatasetProvider>& provider_names() {
  static const Names<DatasetProvider> names = {{DatasetProvider::HuggingFace, "huggingface"},
                                               {DatasetProvider::Local, "local"}};
  return names;
}
const Names<DatasetFormat>& format_names() {
  static const Names<DatasetFormat> names = {
      {DatasetFormat::Jsonl, "jsonl"}, {DatasetFormat::Csv, "csv"}, {DatasetFormat::Tsv, "tsv"}};
  return names;
}

template <typename E>
std::string_view name_of(E value, const Names<E>& names) {
  for (const auto& [candidate, name] : names)
    if (candidate == value) return name;
  return "?";
}

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view word : words) out += cat(out.empty() ? "" : ", ", word);
  return out;
}

// Fails with "expected one of a, b, c, got x" unless the text is one of the choices.
std::string one_of(const YamlField& field, const std::vector<std::string_view>& choices) {
  const std::string text = field.as_string();
  for (std::string_view choice : choices)
    if (text == choice) return text;
  field.fail(cat("expected one of ", join(choices), ", got ", text));
}

template <typename E>
E parse_enum(const YamlField& field, const Names<E>& names) {
  std::vector<std::string_view> choices;
  for (const auto& row : names) choices.push_back(row.second);
  const std::string text = one_of(field, choices);
  for (const auto& [value, name] : names)
    if (name == text) return value;
  return names.front().first;  // unreachable: one_of accepted text
}

ModelTask parse_task(const YamlField& field) {
  const std::string text = field.as_string();
  for (const auto& [task, name] : task_aliases())
    if (text == name) return task;
  return parse_enum(field, task_names());
}

// Names become directory and report names, so keep them to portable characters.
std::string parse_name(const YamlField& field) {
  const std::string name = field.as_string();
  if (name.empty()) field.fail("must not be empty");
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) field.fail(cat("'", name, "' may only use letters, digits, '-', '_' and '.'"));
  }
  return name;
}

// Relative paths are taken from the config file's directory (see config.h).
std::filesystem::path parse_path(const YamlField& field) {
  const std::filesystem::path path = field.as_string();
  if (path.empty()) field.fail("must not be empty");
  if (path.is_absolute()) return path.lexically_normal();
  return (std::filesystem::path(field.file).parent_path() / path).lexically_normal();
}

std::optional<double> parse_optional_number(const YamlMap& map, std::string_view key, double minimum,
                                            bool inclusive) {
  std::optional<YamlField> field = map.get(key);
  if (!field) return std::nullopt;
  const double value = field->as_number();
  if (value < minimum || (!inclusive && value == minimum))
    field->fail(cat("must be ", inclusive ? "at least " : "greater than ", minimum, ", got ", value));
  return value;
}

// A floor in [0, 1] (agreement, cosine).
std::optional<double> parse_fraction(const YamlMap& map, std::string_view key) {
  std::optional<double> value = parse_optional_number(map, key, 0, true);
  if (value && *value > 1) map.need(key).fail(cat("must be at most 1, got ", *value));
  return value;
}

int64_t parse_positive(const YamlField& field) {
  const int64_t value = field.as_int();
  if (value <= 0) field.fail(cat("must be positive, got ", value));
  return value;
}

// Reads "bits": a width MLX packs, or the word ternary.
void parse_bits(const YamlField& field, QuantizationConfig& q) {
  const std::string text = one_of(field, {"8", "6", "5", "4", "3", "2", "ternary", "auto"});
  q.ternary = text == "ternary";
  q.automatic = text == "auto";
  q.bits = q.ternary ? 8 : q.automatic ? 4 : std::stoi(text);
}

// `finetune: true`, or a map of FinetuneConfig's keys.
FinetuneConfig parse_finetune(const YamlField& field) {
  FinetuneConfig f;
  if (field.node.IsScalar()) {
    f.enabled = field.as_bool();
    return f;
  }
  const YamlMap map(field, {"enabled", "qat_threshold", "epochs", "samples", "learning_rate", "dataset"});
  f.enabled = true;
  if (auto v = map.get("enabled")) f.enabled = v->as_bool();
  if (auto v = parse_fraction(map, "qat_threshold")) f.qat_threshold = *v;
  if (auto v = parse_optional_number(map, "epochs", 1, true)) f.epochs = static_cast<int>(*v);
  if (auto v = parse_optional_number(map, "samples", 1, true)) f.samples = static_cast<int>(*v);
  if (auto v = parse_optional_number(map, "learning_rate", 0, false)) f.learning_rate = *v;
  if (f.learning_rate <= 0 || f.learning_rate > 1) map.need("learning_rate").fail("must be in (0, 1]");
  if (auto v = map.get("dataset")) f.dataset = v->as_string();
  return f;
}

QuantizationConfig parse_quantization(const YamlField& field) {
  const YamlMap map(field, {"bits", "dtype", "group_size", "scheme", "per_channel", "target_size_mb",
                            "max_accuracy_drop", "min_speedup", "size_tolerance", "min_agreement",
                            "min_cosine", "method", "max_raises", "finetune"});
  QuantizationConfig q;
  q.source = {field.file, field.line()};
  parse_bits(map.need("bits"), q);
  if (auto f = map.get("dtype")) q.dtype = f->as_string();
  if (auto f = map.get("group_size"))
    q.group_size = static_cast<int>(std::stoi(one_of(*f, {"32", "64", "128"})));
  if (auto f = map.get("scheme")) q.scheme = parse_enum(*f, kind_names());
  if (auto f = map.get("per_channel")) q.per_channel = f->as_bool();
  q.target_size_mb = parse_optional_number(map, "target_size_mb", 0, false);
  q.max_accuracy_drop = parse_optional_number(map, "max_accuracy_drop", 0, true);
  if (q.max_accuracy_drop)
    if (std::string problem = eval::max_accuracy_drop_problem(*q.max_accuracy_drop); !problem.empty())
      map.need("max_accuracy_drop").fail(problem);
  if (auto v = parse_optional_number(map, "min_speedup", 0, true)) q.min_speedup = *v;
  if (auto v = parse_optional_number(map, "size_tolerance", 0, true)) q.size_tolerance = *v;
  if (auto v = parse_fraction(map, "min_agreement")) q.min_agreement = *v;
  if (auto v = parse_fraction(map, "min_cosine")) q.min_cosine = *v;
  if (auto f = map.get("method")) q.method = quant::parse_method(one_of(*f, {"rtn", "gptq", "awq"}));
  if (auto f = map.get("max_raises")) q.max_raises = static_cast<int>(f->as_int());
  if (q.max_raises < 0 || q.max_raises > 10) map.need("max_raises").fail("must be between 0 and 10");
  if (auto f = map.get("finetune")) q.finetune = parse_finetune(*f);
  if (q.automatic && q.method == quant::QuantMethod::Awq)
    map.need("method").fail("bits: auto with method: awq is not combined yet; use rtn or gptq");
  if (q.automatic && !q.target_size_mb && !q.max_accuracy_drop)
    map.need("bits").fail(
        "bits: auto chooses bits per tensor within a budget: give target_size_mb and/or "
        "max_accuracy_drop");
  // The bits/scheme/granularity combination is checked by the quantizer's own rules.
  try {
    resolve_scheme(q);
  } catch (const Error& e) {
    field.fail(e.what());
  }
  return q;
}

// `quantization:` is one map or a list of maps, one per variant.
std::vector<QuantizationConfig> parse_quantizations(const YamlField& field) {
  if (field.node.IsMap()) return {parse_quantization(field)};
  std::vector<QuantizationConfig> entries;
  for (const YamlField& item : field.items()) entries.push_back(parse_quantization(item));
  if (entries.empty()) field.fail("needs at least one entry");
  return entries;
}

ModelConfig parse_model(const YamlField& field, std::vector<BenchmarkRef>& refs) {
  const YamlMap map(field, {"name", "hf_name", "path", "task", "quantization", "benchmarks", "note",
                            "upload_repo", "calibration"});
  ModelConfig model;
  model.source = {field.file, field.line()};
  model.name = parse_name(map.need("name"));
  if (auto f = map.get("hf_name")) model.hf_name = f->as_string();
  if (auto f = map.get("path")) model.path = parse_path(*f);
  if (model.hf_name.empty() == model.path.empty())
    field.fail(
        cat("model '", model.name, "' needs exactly one of 'hf_name' (hub id) and 'path' (local directory)"));
  model.task = parse_task(map.need("task"));
  if (auto f = map.get("note")) model.note = f->as_string();
  if (auto f = map.get("upload_repo")) {
    model.upload_repo = f->as_string();
    try {
      check_hub_repo_id(upload_repo_for(model, "q8_sym_ch"));
    } catch (const Error& e) {
      f->fail(e.what());
    }
  }
  model.quantization = parse_quantizations(map.need("quantization"));
  if (auto f = map.get("benchmarks")) {
    const std::vector<YamlField> items = f->node.IsScalar() ? std::vector<YamlField>{*f} : f->items();
    for (const YamlField& item : items) {
      model.benchmarks.push_back(item.as_string());
      refs.push_back({model.name, model.benchmarks.back(), item});
    }
  }
  if (auto f = map.get("calibration")) {
    const YamlMap calibration(*f, {"dataset", "samples", "max_length"});
    if (auto d = calibration.get("dataset")) {
      model.calibration.dataset = d->as_string();
      refs.push_back({model.name, model.calibration.dataset, *d});
    }
    if (auto v = parse_optional_number(calibration, "samples", 1, true))
      model.calibration.samples = static_cast<int>(*v);
    if (auto v = parse_optional_number(calibration, "max_length", 1, true))
      model.calibration.max_length = static_cast<int>(*v);
  }
  return model;
}

// true / false, or a Hugging Face truncation strategy as the original configs write it.
void parse_truncation(const YamlField& field, Preprocessing& pre) {
  const std::string text = field.as_string();
  for (std::string_view strategy : {"longest_first", "only_first", "only_second", "do_not_truncate"}) {
    if (text != strategy) continue;
    pre.truncation_strategy = text;
    pre.truncation = text != "do_not_truncate";
    return;
  }
  bool on = false;
  if (!YAML::convert<bool>::decode(field.node, on))
    field.fail(
        cat("expected true, false, longest_first, only_first, only_second or do_not_truncate, got ", text));
  pre.truncation = on;
  pre.truncation_strategy = on ? "longest_first" : "do_not_truncate";
}

Preprocessing parse_preprocessing(const YamlField& field) {
  const YamlMap map(field, {"max_length", "truncation", "padding", "cache_dir"});
  Preprocessing pre;
  if (auto f = map.get("max_length")) pre.max_length = static_cast<int>(parse_positive(*f));
  if (auto f = map.get("truncation")) parse_truncation(*f, pre);
  if (auto f = map.get("padding")) pre.padding = one_of(*f, {"longest", "max_length", "none"});
  if (auto f = map.get("cache_dir")) pre.cache_dir = parse_path(*f);
  return pre;
}

ColumnMapping parse_columns(const YamlField& field) {
  const YamlMap map(field, {"text", "text_pair", "label"});
  ColumnMapping columns;
  if (auto f = map.get("text")) columns.text = f->as_string();
  if (auto f = map.get("text_pair")) columns.text_pair = f->as_string();
  if (auto f = map.get("label")) columns.label = f->as_string();
  return columns;
}

std::map<std::string, std::string> parse_label_mapping(const YamlField& field) {
  std::map<std::string, std::string> mapping;
  for (const auto& [from, to] : YamlMap(field).entries()) mapping[from] = to.as_string();
  return mapping;
}

// Metric names the evaluator knows; a typo here would otherwise surface only
// after a long run.
void check_metrics(const YamlField& field, const std::vector<std::string>& metrics) {
  static const std::vector<std::string_view> known = {"accuracy", "f1",        "macro_f1", "spearman",
                                                      "pearson",  "agreement", "cosine"};
  if (metrics.empty()) field.fail("needs at least one metric");
  const std::vector<YamlField> items = field.node.IsScalar() ? std::vector<YamlField>{field} : field.items();
  for (const YamlField& item : items) one_of(item, known);
}

DatasetFormat infer_format(const YamlField& path_field, const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  for (const auto& [format, name] : format_names())
    if (ext == cat(".", name)) return format;
  path_field.fail(
      cat("cannot tell the format from '", path.filename().string(), "'; set format: jsonl, csv or tsv"));
}

// Keys that only make sense for the other provider are errors, not silently ignored.
void forbid(const YamlMap& map, std::string_view key, std::string_view provider) {
  if (auto f = map.get(key)) f->fail(cat("only for provider ", provider));
}

// `splits:` as a list of split names, or as the original pipeline's map of
// role → split, of which the one to evaluate on is taken (see config.h).
std::vector<std::string> parse_splits(const YamlField& field) {
  if (!field.node.IsMap()) {
    std::vector<std::string> splits = field.as_string_list();
    if (splits.empty()) field.fail("needs at least one split");
    return splits;
  }
  const YamlMap roles(field);
  for (std::string_view role : {"validation", "test"})
    if (auto f = roles.get(role)) return {f->as_string()};
  std::string known;
  for (const auto& [role, split] : roles.entries()) known += cat(known.empty() ? "" : ", ", role);
  field.fail(cat(
      "names no 'validation' or 'test' split to evaluate on (roles: ", known.empty() ? "none" : known, ")"));
}

// The hub dataset path: `hf_name:`, or `name:` in the map form of `datasets:`
// (where the map key is the dataset's own name).
std::string parse_hub_path(const YamlMap& map, bool keyed) {
  std::optional<YamlField> name = keyed ? map.get("name") : std::nullopt;
  std::optional<YamlField> hf_name = map.get("hf_name");
  if (name && hf_name)
    hf_name->fail("the hub dataset path is given twice: as 'name' (the keyed form's spelling) and 'hf_name'");
  if (name) return name->as_string();
  if (hf_name) return hf_name->as_string();
  map.field().fail(keyed ? "missing required key 'name' (the hub dataset path, e.g. nyu-mll/glue)"
                         : "missing required key 'hf_name'");
}

void parse_huggingface_source(const YamlMap& map, DatasetConfig& d, bool keyed) {
  d.hf_name = parse_hub_path(map, keyed);
  if (d.hf_name.empty()) map.field().fail("the hub dataset path must not be empty");
  if (auto f = map.get("subset")) d.subset = f->as_string();
  if (auto f = map.get("splits")) d.splits = parse_splits(*f);
  forbid(map, "path", "local");
  forbid(map, "format", "local");
}

void parse_local_source(const YamlMap& map, DatasetConfig& d, bool keyed) {
  const YamlField path = map.need("path");
  d.path = parse_path(path);
  if (auto f = map.get("format")) {
    d.format = parse_enum(*f, format_names());
  } else {
    d.format = infer_format(path, d.path);
  }
  for (std::string_view key : {"hf_name", "subset", "splits"}) forbid(map, key, "huggingface");
  if (keyed) forbid(map, "name", "huggingface (in this keyed form it is the hub dataset path)");
}

// One dataset. `key` is the entry's key in the map form of `datasets:` (its
// name); absent in the list form, where `name:` names it.
DatasetConfig parse_dataset(const YamlField& field, const std::optional<YamlField>& key) {
  const YamlMap map(
      field, {"name", "provider", "hf_name", "subset", "splits", "metrics", "preprocessing", "path", "format",
              "columns", "label_mapping", "limit", "candidate_labels", "hypothesis_template"});
  DatasetConfig d;
  d.source = {field.file, key ? key->line() : field.line()};
  d.name = parse_name(key ? *key : map.need("name"));
  d.provider = parse_enum(map.need("provider"), provider_names());
  if (d.provider == DatasetProvider::HuggingFace) {
    parse_huggingface_source(map, d, key.has_value());
  } else {
    parse_local_source(map, d, key.has_value());
  }
  const YamlField metrics = map.need("metrics");
  d.metrics = metrics.as_string_list();
  check_metrics(metrics, d.metrics);
  if (auto f = map.get("preprocessing")) d.preprocessing = parse_preprocessing(*f);
  if (auto f = map.get("columns")) d.columns = parse_columns(*f);
  if (auto f = map.get("label_mapping")) d.label_mapping = parse_label_mapping(*f);
  if (auto f = map.get("limit")) d.limit = parse_positive(*f);
  if (auto f = map.get("candidate_labels")) {
    d.candidate_labels = f->as_string_list();
    if (d.candidate_labels.empty()) f->fail("needs at least one label");
  }
  if (auto f = map.get("hypothesis_template")) {
    d.hypothesis_template = f->as_string();
    if (d.hypothesis_template.find("{}") == std::string::npos)
      f->fail(cat("must contain {} where the label goes, got '", d.hypothesis_template, "'"));
  }
  return d;
}

// `datasets:` as a list of entries with `name:`, or as a map keyed by name.
void parse_datasets(const YamlField& field, std::vector<DatasetConfig>& datasets) {
  if (!field.node.IsMap()) {
    for (const YamlField& item : field.items()) datasets.push_back(parse_dataset(item, std::nullopt));
    return;
  }
  for (const auto& [key, value] : YamlMap(field).keyed_entries()) {
    for (const DatasetConfig& existing : datasets)
      if (existing.name == key.node.Scalar())
        key.fail(
            cat("duplicate dataset '", existing.name, "' (first defined at ", existing.source.str(), ")"));
    datasets.push_back(parse_dataset(value, key));
  }
}

}  // namespace

std::string_view to_string(ModelTask task) { return name_of(task, task_names()); }
std::string_view to_string(SchemeKind kind) { return name_of(kind, kind_names()); }
std::string_view to_string(DatasetProvider provider) { return name_of(provider, provider_names()); }
std::string_view to_string(DatasetFormat format) { return name_of(format, format_names()); }

ParsedFile parse_config_document(const YAML::Node& root, const std::string& file) {
  if (!root.IsDefined() || root.IsNull())
    fail(file, ": empty config file (expected 'models:' and/or 'datasets:')");
  const YamlMap map({file, "", root}, {"models", "datasets"});
  ParsedFile parsed;
  if (auto f = map.get("models"))
    for (const YamlField& item : f->items())
      parsed.config.models.push_back(parse_model(item, parsed.benchmarks));
  if (auto f = map.get("datasets")) parse_datasets(*f, parsed.config.datasets);
  if (parsed.config.models.empty() && parsed.config.datasets.empty())
    fail(file, ": defines no models and no datasets (expected 'models:' and/or 'datasets:')");
  return parsed;
}

}  // namespace qp::pipeline
