// Local labelled datasets: JSONL with text / pair / label fields, and TSV
// with a header row (GLUE layouts such as STS-B and SST-2).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "quantpipe/model.h"

namespace qp {

struct LabelledExample {
  TextInput input;
  std::string label;  // classification label (empty for regression)
  double score = 0;   // regression target (STS)
};

struct ColumnMapping {
  std::string text = "text";
  std::string text_pair;  // empty: single-text inputs
  std::string label = "label";
};

// One JSON object per line; throws "<file>:<line>: ..." on a bad line.
std::vector<LabelledExample> read_jsonl_dataset(const std::filesystem::path& path, const ColumnMapping& columns);

// Tab-separated with a header row naming the columns; the label column is
// read as a string and, when numeric, also as the score.
std::vector<LabelledExample> read_tsv_dataset(const std::filesystem::path& path, const ColumnMapping& columns);

}  // namespace qp
