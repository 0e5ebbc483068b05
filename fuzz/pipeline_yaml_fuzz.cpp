// The pipeline's YAML config (the seed formats users bring): keys, types,
// anchors and aliases, merges.
#include "fuzz_input.h"
#include "pipeline/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qp::fuzz::write_input("pipeline.yaml", data, size);
  qp::fuzz::expect_clean([&] { qp::pipeline::load_pipeline_config({path.string()}); });
  return 0;
}
