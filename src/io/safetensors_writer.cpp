#include "io/safetensors_writer.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace qp {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors writer assumes a little-endian host");

void validate(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors) {
  const std::string where = "[safetensors] " + path.string() + ": ";
  std::set<std::string> seen;
  for (const TensorToWrite& t : tensors) {
    if (t.name.empty()) fail(where, "a tensor has an empty name");
    if (t.name == "__metadata__") fail(where, "'__metadata__' is reserved and cannot name a tensor");
    if (!seen.insert(t.name).second) fail(where, "tensor '", t.name, "' is given twice");
    for (int64_t d : t.shape)
      if (d < 0) fail(where, "tensor '", t.name, "' has negative dimension in shape ", shape_string(t.shape));
    const uint64_t expected = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    if (t.bytes.size() != expected)
      fail(where, "tensor '", t.name, "' has ", t.bytes.size(), " bytes but shape ", shape_string(t.shape),
           " of ", dtype_name(t.dtype), " needs ", expected);
  }
}

// Data order: stable by element size, largest first, so offsets stay aligned.
std::vector<size_t> data_order(const std::vector<TensorToWrite>& tensors) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype);
  });
  return order;
}

std::string build_header(const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> begin(tensors.size());
  uint64_t offset = 0;
  for (size_t i : data_order(tensors)) {
    begin[i] = offset;
    offset += tensors[i].bytes.size();
  }
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {begin[i], begin[i] + t.bytes.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  validate(path, tensors);
  const std::string header = build_header(tensors, metadata);
  const uint64_t header_size = header.size();

  AtomicFile file(path);
  file.write(&header_size, sizeof(header_size));
  file.write(header);
  for (size_t i : data_order(tensors)) file.write(tensors[i].bytes.data(), tensors[i].bytes.size());
  file.commit();
}

}  // namespace qp
