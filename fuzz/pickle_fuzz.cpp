// The pickle machine alone, on raw opcodes (no zip around them), with the
// globals a torch checkpoint may name.
#include <span>

#include "fuzz_input.h"
#include "io/pickle_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const qp::PickleGlobals allowed = {
      {"collections.OrderedDict", qp::GlobalUse::EmptyDict},
      {"torch._utils._rebuild_tensor_v2", qp::GlobalUse::Call},
      {"torch.FloatStorage", qp::GlobalUse::Reference},
  };
  qp::fuzz::expect_clean([&] {
    qp::read_pickle(std::span(reinterpret_cast<const std::byte*>(data), size), allowed, "fuzz input");
  });
  return 0;
}
