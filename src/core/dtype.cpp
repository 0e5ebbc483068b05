#include "core/dtype.h"

#include <array>

namespace qp {
namespace {
constexpr std::array<DTypeInfo, 11> kDTypes = {{
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::I16, "I16", 2},
    {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},
    {DType::I64, "I64", 8},
    {DType::Bool, "BOOL", 1},
}};
}  // namespace

const DTypeInfo& dtype_info(DType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const auto& info : kDTypes)
    if (info.safetensors_name == name) return info.dtype;
  return std::nullopt;
}

}  // namespace qp
