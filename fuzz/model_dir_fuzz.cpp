// config.json with the sentence-transformers files beside it (modules.json,
// 1_Pooling/config.json, sentence_bert_config.json): the input is cut into
// the four at NUL bytes.
#include "fuzz_input.h"
#include "io/model_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kFiles[] = {"config.json", "modules.json", "1_Pooling/config.json",
                                       "sentence_bert_config.json"};
  const std::filesystem::path dir = qp::fuzz::scratch_dir() / "model";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "1_Pooling");
  size_t begin = 0;
  for (const char* name : kFiles) {
    size_t end = begin;
    while (end < size && data[end] != 0) ++end;
    if (begin <= size && (begin < size || name == kFiles[0])) {
      std::ofstream out(dir / name, std::ios::binary);
      out.write(reinterpret_cast<const char*>(data + begin), static_cast<std::streamsize>(end - begin));
    }
    begin = end + 1;
    if (begin > size) break;
  }
  qp::fuzz::expect_clean([&] { qp::read_model_dir(dir); });
  return 0;
}
