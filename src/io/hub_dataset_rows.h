// Hub datasets through the dataset viewer's HTTP API (datasets-server):
// /splits names a dataset's configs and splits, /rows serves a split in pages
// of at most 100 rows. A split is written as JSONL, one row object per line
// exactly as the API sends it (ClassLabel columns stay integers), the same
// shape `datasets`' to_json export has, so either can fill the cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "io/hub_client.h"

namespace qp {

struct HubDatasetSplit {
  std::string dataset;  // "nyu-mll/glue"
  std::string config;   // "mnli"; empty: the dataset's one config that has the split
  std::string split;    // "validation_matched"
};

// The dataset viewer's address: QUANTPIPE_DATASETS_SERVER, else HF_ENDPOINT
// when that names another hub (a mirror or a test's fake hub), else
// https://datasets-server.huggingface.co.
std::string datasets_server_from_env();

struct FetchedSplit {
  std::string config;     // the config fetched (resolved when the request left it empty)
  int64_t rows = 0;       // rows written
  int64_t truncated = 0;  // rows with a cell the viewer cut short (it truncates very large cells)
};

// Writes every row of the split to `jsonl` (atomically). `progress` gets
// (rows so far, rows in all) after each page. Throws qp::Error naming the
// dataset, config and split.
FetchedSplit fetch_dataset_split(const HubClient& client, const std::string& server,
                                 const HubDatasetSplit& split, const std::filesystem::path& jsonl,
                                 const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace qp
