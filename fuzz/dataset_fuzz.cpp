// The dataset readers: JSONL, TSV and CSV (RFC 4180 quoting), the first byte
// choosing which.
#include "eval/datasets.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const qp::ColumnMapping columns{"text", "text_pair", "label"};
  const uint8_t which = data[0] % 3;
  const auto path = qp::fuzz::write_input(which == 0   ? "data.jsonl"
                                          : which == 1 ? "data.tsv"
                                                       : "data.csv",
                                          data + 1, size - 1);
  qp::fuzz::expect_clean([&] {
    if (which == 0) qp::read_jsonl_dataset(path, columns);
    if (which == 1) qp::read_tsv_dataset(path, columns);
    if (which == 2) qp::read_csv_dataset(path, columns);
  });
  return 0;
}
