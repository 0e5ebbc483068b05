// Local datasets: JSONL with text / pair / label fields (or pre-tokenized
// rows, below), CSV (RFC 4180
// quoting) and TSV with a header row (GLUE layouts such as STS-B and SST-2).
// A ColumnMapping with an empty label column reads an unlabelled dataset.
// Loading from a pipeline config (label mapping, limit, hub exports) lives in
// pipeline/dataset_source.h.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quantpipe/model.h"

namespace qp {

struct LabelledExample {
  TextInput input;
  std::string label;       // classification label (empty when unlabelled)
  double score = 0;        // regression target (STS), when the label is a number
  bool has_score = false;  // the label column parsed completely as a number
  // A pre-tokenized row (last, so brace-initialised rows stay as they were): the model reads these ids
  // instead of `input`, so a model without tokenizer files (the shared oracles) can be evaluated.
  std::optional<Encoding> ids;
};

struct ColumnMapping {
  std::string text = "text";
  std::string text_pair;        // empty: single-text inputs
  std::string label = "label";  // empty: unlabelled
};

// One JSON object per line; throws "<file>:<line>: ..." on a bad line. A line
// with "input_ids" (and optionally "token_type_ids", "attention_mask", as
// `quantpipe tokenize` prints them) is pre-tokenized and has no text field;
// a line with both is refused. Pre-tokenized rows take no text_pair column.
std::vector<LabelledExample> read_jsonl_dataset(const std::filesystem::path& path,
                                                const ColumnMapping& columns);

// Tab-separated with a header row naming the columns, no quoting (GLUE's
// files are read with QUOTE_NONE); the label column is read as a string and,
// when numeric, also as the score.
std::vector<LabelledExample> read_tsv_dataset(const std::filesystem::path& path,
                                              const ColumnMapping& columns);

// Comma-separated with a header row, RFC 4180 quoting: a field in double
// quotes may hold commas, line breaks and doubled quotes ("" → ").
std::vector<LabelledExample> read_csv_dataset(const std::filesystem::path& path,
                                              const ColumnMapping& columns);

// The records of a CSV text (RFC 4180), for tests and other readers. Throws
// "<source>:<line>: ..." on an unterminated quote or text after a closing quote.
std::vector<std::vector<std::string>> parse_csv_records(const std::string& text, const std::string& source);

// The same records one at a time, each with the line it starts on (blank lines skipped); the
// visitor may move the fields out. Dataset readers use it to keep one record in memory.
void for_each_csv_record(const std::string& text, const std::string& source,
                         const std::function<void(std::vector<std::string>&, int)>& visit);

// `count` rows spread evenly over the examples (every n/count-th), in order:
// dev sets are often sorted by label, so the first rows would be one class.
std::vector<LabelledExample> sample_evenly(std::vector<LabelledExample> examples, int64_t count);

}  // namespace qp
