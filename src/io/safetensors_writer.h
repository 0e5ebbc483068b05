// safetensors writer. The file is written atomically (temporary file beside the
// target, fsync, rename), so a failed write never leaves a half-written model.
//
// Layout written: u64 little-endian header length N (a multiple of 8: the JSON is
// padded with spaces), the JSON header with "__metadata__" first (when given) and
// then the tensors in the order given, then the data section. The data section is
// contiguous (no gaps: the reference safetensors loader refuses gaps). Tensors are
// laid out in the order given, except that they are stably grouped by element size,
// largest first (as the reference serializer does), so every tensor starts at a
// multiple of its element size; with one dtype the order is exactly as given.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace qp {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::span<const std::byte> bytes;  // numel * dtype size bytes, little-endian
};

// Throws qp::Error "[safetensors] <path>: <problem>" for invalid input (duplicate or
// empty names, byte count != numel * dtype size) before anything is written, and
// "<path>: <what failed>: <errno text>" when writing fails (the temporary file is
// removed and an existing file at path is left untouched).
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace qp
