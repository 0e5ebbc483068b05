// Element types of stored tensors, with one table row per type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qp {

enum class DType : uint8_t { F32, F16, BF16, F64, I8, U8, I16, I32, U32, I64, Bool };

struct DTypeInfo {
  DType dtype;
  std::string_view safetensors_name;  // "F32", "BF16", ...
  size_t size_bytes;
};

const DTypeInfo& dtype_info(DType dtype);
std::optional<DType> dtype_from_safetensors_name(std::string_view name);
inline size_t dtype_size(DType dtype) { return dtype_info(dtype).size_bytes; }
inline std::string_view dtype_name(DType dtype) { return dtype_info(dtype).safetensors_name; }

}  // namespace qp
