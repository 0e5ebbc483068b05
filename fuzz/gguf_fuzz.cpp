// GGUF: header, metadata key/values (strings, arrays), tensor infos, offsets.
#include "fuzz_input.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qp::fuzz::write_input("model.gguf", data, size);
  qp::fuzz::expect_clean([&] { const qp::GgufFile file(path); });
  return 0;
}
