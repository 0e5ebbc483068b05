#include "pipeline/dataset_source.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_read.h"
#include "core/log.h"
#include "io/hub_client.h"
#include "io/hub_dataset_rows.h"
#include "io/sha256_file.h"

namespace qp::pipeline {
namespace {

std::vector<LabelledExample> read_local(const std::filesystem::path& path, DatasetFormat format,
                                        const ColumnMapping& columns) {
  if (!std::filesystem::exists(path)) fail(path.string(), ": dataset file does not exist");
  switch (format) {
    case DatasetFormat::Jsonl:
      return read_jsonl_dataset(path, columns);
    case DatasetFormat::Csv:
      return read_csv_dataset(path, columns);
    case DatasetFormat::Tsv:
      return read_tsv_dataset(path, columns);
  }
  fail(path.string(), ": unknown dataset format");
}

std::string python_export_command(const DatasetConfig& config, const std::string& split,
                                  const std::filesystem::path& path) {
  const std::string subset = config.subset.empty() ? "" : cat("'", config.subset, "',");
  return cat("python3 -c \"from datasets import load_dataset; load_dataset('", config.hf_name, "',", subset,
             "split='", split, "').to_json('", path.string(), "')\"");
}

std::string describe_split(const DatasetConfig& config, const std::string& split) {
  return cat(config.source.str(), ": dataset '", config.name, "' (hub ", config.hf_name,
             config.subset.empty() ? "" : "/" + config.subset, ", split ", split, ")");
}

bool datasets_offline() {
  for (const char* name : {"HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"})
    if (const char* v = std::getenv(name); v && (std::string(v) == "1" || std::string(v) == "true" ||
                                                 std::string(v) == "ON" || std::string(v) == "YES"))
      return true;
  return false;
}

// A cached split is good when it exists and, if quantpipe fetched it, still
// has the SHA-256 its sidecar recorded. An export made with `datasets`
// elsewhere has no sidecar and is taken as it is.
std::string cache_problem(const std::filesystem::path& jsonl) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(jsonl, ec)) return "not cached";
  const std::filesystem::path meta = jsonl.string() + ".meta.json";
  if (!std::filesystem::exists(meta, ec)) return "";
  try {
    const std::string recorded = read_json_object_file(meta).at("sha256").get<std::string>();
    if (recorded != sha256_hex(jsonl))
      return cat("changed since it was fetched (its SHA-256 no longer matches ", meta.string(), ")");
  } catch (const std::exception& e) {
    return cat("its record ", meta.string(), " is unreadable (", e.what(), ")");
  }
  return "";
}

void fetch_split(const DatasetConfig& config, const std::string& split, const std::filesystem::path& jsonl) {
  const HubClient client(hub_client_options_from_env());
  const std::string server = datasets_server_from_env();
  log_info("[hub] fetching dataset ", config.hf_name, config.subset.empty() ? "" : "/" + config.subset,
           " split ", split, " from ", server);
  int64_t logged = 0;
  const FetchedSplit fetched = fetch_dataset_split(
      client, server, {config.hf_name, config.subset, split}, jsonl, [&](int64_t done, int64_t total) {
        if (done - logged >= 5000 || done == total)
          log_info("[hub] ", config.name, ": ", done, "/", total, " rows");
        if (done - logged >= 5000) logged = done;
      });
  if (fetched.truncated > 0)
    log_warn(describe_split(config, split), ": the dataset viewer cut ", fetched.truncated,
             " row(s) short (a cell too large for it); those texts are truncated");
  const nlohmann::ordered_json meta = {{"dataset", config.hf_name},
                                       {"config", fetched.config},
                                       {"split", split},
                                       {"rows", fetched.rows},
                                       {"truncated_rows", fetched.truncated},
                                       {"server", server},
                                       {"fetched_at", static_cast<int64_t>(std::time(nullptr))},
                                       {"sha256", sha256_hex(jsonl)}};
  write_file_atomic(jsonl.string() + ".meta.json", meta.dump(2) + "\n");
}

std::vector<LabelledExample> read_hub_export(const DatasetConfig& config,
                                             const std::filesystem::path& default_cache_dir) {
  ensure_hub_dataset_cached(config, default_cache_dir);
  std::vector<LabelledExample> examples;
  for (const std::string& split : config.splits) {
    std::vector<LabelledExample> part =
        read_jsonl_dataset(hub_export_path(config, split, default_cache_dir), config.columns);
    examples.insert(examples.end(), std::make_move_iterator(part.begin()),
                    std::make_move_iterator(part.end()));
  }
  return examples;
}

std::string known_values(const std::map<std::string, std::string>& mapping) {
  std::string known;
  for (const auto& [from, to] : mapping) known += cat(known.empty() ? "" : ", ", from);
  return known;
}

void apply_label_mapping(const DatasetConfig& config, std::vector<LabelledExample>& examples) {
  if (config.label_mapping.empty() || config.columns.label.empty()) return;
  for (size_t i = 0; i < examples.size(); ++i) {
    LabelledExample& example = examples[i];
    const auto it = config.label_mapping.find(example.label);
    if (it == config.label_mapping.end())
      fail(config.source.str(), ": dataset '", config.name, "' row ", i + 1, ": label '", example.label,
           "' has no entry in label_mapping (mapped values: ", known_values(config.label_mapping), ")");
    example.label = it->second;
    example.has_score = false;  // a mapped label is a class name, not a score
  }
}

}  // namespace

void ensure_hub_dataset_cached(const DatasetConfig& config, const std::filesystem::path& default_cache_dir) {
  if (config.provider != DatasetProvider::HuggingFace) return;
  for (const std::string& split : config.splits) {
    const std::filesystem::path path = hub_export_path(config, split, default_cache_dir);
    const std::string problem = cache_problem(path);
    if (problem.empty()) continue;
    if (datasets_offline())
      fail(describe_split(config, split), " is ", problem, " at ", path.string(),
           " and HF_HUB_OFFLINE / HF_DATASETS_OFFLINE forbids fetching it; unset it, or make the export on a "
           "machine with internet and copy it there: ",
           python_export_command(config, split, path));
    if (problem != "not cached")
      log_warn(describe_split(config, split), ": the cache is ", problem, "; fetching it again");
    try {
      fetch_split(config, split, path);
    } catch (const Error& e) {
      fail(describe_split(config, split), ": ", e.what());
    }
  }
}

std::filesystem::path hub_export_path(const DatasetConfig& config, const std::string& split,
                                      const std::filesystem::path& default_cache_dir) {
  const std::filesystem::path cache =
      config.preprocessing.cache_dir.empty() ? default_cache_dir : config.preprocessing.cache_dir;
  std::string repo = config.hf_name;
  for (size_t slash; (slash = repo.find('/')) != std::string::npos;) repo.replace(slash, 1, "__");
  std::filesystem::path dir = cache / repo;
  if (!config.subset.empty()) dir /= config.subset;
  return dir / (split + ".jsonl");
}

std::optional<int64_t> row_limit(const DatasetConfig& config, std::optional<int64_t> cap) {
  if (config.limit && cap) return std::min(*config.limit, *cap);
  return config.limit ? config.limit : cap;
}

std::vector<LabelledExample> load_dataset(const DatasetConfig& config,
                                          const std::filesystem::path& default_cache_dir) {
  std::vector<LabelledExample> examples = config.provider == DatasetProvider::HuggingFace
                                              ? read_hub_export(config, default_cache_dir)
                                              : read_local(config.path, config.format, config.columns);
  if (config.limit) examples = sample_evenly(std::move(examples), *config.limit);
  apply_label_mapping(config, examples);
  if (examples.empty()) fail(config.source.str(), ": dataset '", config.name, "' has no rows");
  return examples;
}

DatasetConfig local_file_dataset(const std::filesystem::path& path, const ColumnMapping& columns) {
  DatasetConfig config;
  config.name = path.filename().string();
  config.provider = DatasetProvider::Local;
  config.path = path;
  config.columns = columns;
  config.metrics = {"accuracy"};
  config.source = {path.string(), 0};
  const std::string ext = path.extension().string();
  if (ext == ".jsonl" || ext == ".json") {
    config.format = DatasetFormat::Jsonl;
  } else if (ext == ".csv") {
    config.format = DatasetFormat::Csv;
  } else if (ext == ".tsv") {
    config.format = DatasetFormat::Tsv;
  } else {
    fail(path.string(), ": cannot tell the dataset format from the extension '", ext,
         "' (expected .jsonl, .csv or .tsv)");
  }
  return config;
}

std::filesystem::path default_dataset_cache_dir() {
  if (const char* dir = std::getenv("QUANTPIPE_TEMP_DIR"); dir && *dir)
    return std::filesystem::path(dir) / "datasets";
  return std::filesystem::temp_directory_path() / "quantpipe" / "datasets";
}

std::vector<TextInput> dataset_texts(const DatasetConfig& config,
                                     const std::filesystem::path& default_cache_dir) {
  DatasetConfig all = config;
  all.limit.reset();
  std::vector<TextInput> texts;
  for (LabelledExample& row : load_dataset(all, default_cache_dir))
    if (!row.ids) texts.push_back(std::move(row.input));
  if (texts.empty()) fail("dataset '", config.name, "' has no text rows");
  return texts;
}

}  // namespace qp::pipeline
