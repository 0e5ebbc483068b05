// The safetensors header and tensor table: length prefix, JSON, dtypes,
// shapes, offsets against the file size, overlaps.
#include "fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qp::fuzz::write_input("model.safetensors", data, size);
  qp::fuzz::expect_clean([&] {
    const qp::SafetensorsFile file(path);
    size_t bytes = 0;
    for (const qp::TensorView& tensor : file.tensors()) bytes += tensor.nbytes;
    (void)bytes;
  });
  return 0;
}
