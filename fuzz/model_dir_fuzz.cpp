// config.json with the sentence-transformers files beside it (modules.json,
// 1_Pooling/config.json, sentence_bert_config.json): the input is cut into
// the four at NUL bytes.
#include "fuzz_input.h"
#include "io/model_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = qp::fuzz::write_split_input(
      "model", {"config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"}, data,
      size);
  qp::fuzz::expect_clean([&] { qp::read_model_dir(dir); });
  return 0;
}
