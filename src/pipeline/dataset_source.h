// Datasets as a pipeline config describes them: a local file (JSONL, CSV,
// TSV) or a Hugging Face hub dataset exported to JSONL in a cache directory,
// with the config's label mapping and row limit applied.
//
// A hub dataset's split is cached as JSONL at
//   <cache_dir>/<hf_name with '/' replaced by "__">/<subset>/<split>.jsonl
// (no <subset>/ level when the config has no subset), where cache_dir is the
// dataset's preprocessing.cache_dir, else the caller's default. A split not
// cached is fetched through the dataset viewer's rows API (io/hub_dataset_rows.h)
// with a sidecar <split>.jsonl.meta.json recording where it came from and its
// SHA-256; offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) only the cache is
// read. An export made elsewhere with `datasets`' to_json is used as it is.
// Several splits are concatenated in config order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/datasets.h"
#include "pipeline/config.h"

namespace qp::pipeline {

// At most `limit` rows (sample_evenly) of a dataset with label_mapping applied (a labelled
// row whose value has no mapping is an error naming the value and the known
// ones). Throws qp::Error naming the file and problem.
std::vector<LabelledExample> load_dataset(const DatasetConfig& config,
                                          const std::filesystem::path& default_cache_dir);

// Every text row of a dataset (its `limit` ignored, pre-tokenized rows left
// out): calibration text. Throws qp::Error when it cannot be read or holds no text.
std::vector<TextInput> dataset_texts(const DatasetConfig& config,
                                     const std::filesystem::path& default_cache_dir);

// Fetches the splits of a hub dataset that are not cached (or whose cache no
// longer matches its recorded SHA-256); nothing for a local dataset. Throws
// qp::Error naming the dataset, split and file.
void ensure_hub_dataset_cached(const DatasetConfig& config, const std::filesystem::path& default_cache_dir);

// The rows a run takes of a dataset: its own `limit` and a run-wide cap (the
// pipeline's or eval's --limit), the smaller of the two; nullopt: every row.
// load_dataset of a config with this as its limit spreads them evenly.
std::optional<int64_t> row_limit(const DatasetConfig& config, std::optional<int64_t> cap);

// Where a hub dataset's split is expected in the cache.
std::filesystem::path hub_export_path(const DatasetConfig& config, const std::string& split,
                                      const std::filesystem::path& default_cache_dir);

// A local dataset config for a file given on a command line: the format from
// the extension (.jsonl / .json, .csv, .tsv), the given columns.
DatasetConfig local_file_dataset(const std::filesystem::path& path, const ColumnMapping& columns);

// The cache directory for hub exports when a config names none:
// $QUANTPIPE_TEMP_DIR/datasets, else $TMPDIR/quantpipe/datasets.
std::filesystem::path default_dataset_cache_dir();

}  // namespace qp::pipeline
