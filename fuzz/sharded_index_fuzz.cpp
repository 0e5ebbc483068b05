// model.safetensors.index.json: the weight map naming shards, read against
// one small valid shard written once (model-00001-of-00002.safetensors).
#include "fuzz_input.h"
#include "io/safetensors.h"

namespace {

// A header naming one F32 tensor "w" of shape [2], then its 8 bytes.
std::string tiny_shard() {
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  return bytes + header + std::string(8, '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = qp::fuzz::write_split_input("sharded", {"model.safetensors.index.json"}, data, size);
  static const std::string shard = tiny_shard();
  {
    std::ofstream out(dir / "model-00001-of-00002.safetensors", std::ios::binary);
    out << shard;
  }
  qp::fuzz::expect_clean([&] { const qp::WeightStore store = qp::WeightStore::open_dir(dir); });
  return 0;
}
