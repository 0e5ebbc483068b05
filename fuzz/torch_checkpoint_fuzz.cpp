// pytorch_model.bin: the zip container and the pickle inside it, read
// without running anything.
#include "fuzz_input.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qp::fuzz::write_input("pytorch_model.bin", data, size);
  qp::fuzz::expect_clean([&] { const qp::TorchCheckpoint checkpoint(path); });
  return 0;
}
