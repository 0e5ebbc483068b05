// GGUF, llama.cpp's model file: a header of typed key/value metadata and tensor
// infos, then the tensor data, each tensor at a multiple of general.alignment.
//
// Layout (version 3, little-endian; ggml/include/gguf.h and docs/gguf.md):
//   "GGUF", u32 version, i64 tensor_count, i64 kv_count,
//   kv_count × { string key, u32 value_type, value },
//   tensor_count × { string name, u32 n_dims, i64 ne[n_dims], u32 ggml_type, u64 offset },
//   zero padding to the alignment, the data section (offsets are relative to it).
// A string is u64 length + bytes (no terminator); an array is u32 element type,
// u64 count, elements. ne[0] is the fastest-varying dimension, so a Hugging Face
// weight [N, K] is ne = {K, N}.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/ggml_blocks.h"

namespace qp {

enum class GgufType : uint32_t {
  Uint8 = 0,
  Int8 = 1,
  Uint16 = 2,
  Int16 = 3,
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  Uint64 = 10,
  Int64 = 11,
  Float64 = 12,
};

std::string_view gguf_type_name(GgufType type);

// One metadata value. Integers and bools are held in `integer`, floats in
// `number`, strings in `text`; an array holds its element type and items.
struct GgufValue {
  GgufType type = GgufType::Uint32;
  int64_t integer = 0;
  double number = 0.0;
  std::string text;
  GgufType element = GgufType::Uint8;
  std::vector<GgufValue> items;

  static GgufValue u32(uint32_t v) { return {GgufType::Uint32, v}; }
  static GgufValue i32(int32_t v) { return {GgufType::Int32, v}; }
  static GgufValue f32(float v) { return {GgufType::Float32, 0, v}; }
  static GgufValue boolean(bool v) { return {GgufType::Bool, v ? 1 : 0}; }
  static GgufValue string(std::string v) { return {GgufType::String, 0, 0.0, std::move(v)}; }
  static GgufValue strings(const std::vector<std::string>& values);
  static GgufValue i32s(std::span<const int32_t> values);
  static GgufValue f32s(std::span<const float> values);
};

inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;

// ---- writing ----

struct GgufTensorToWrite {
  std::string name;
  quant::GgmlType type = quant::GgmlType::F32;
  std::vector<int64_t> ne;  // ne[0] fastest
  std::vector<uint8_t> data;
};

// Keys keep the order they were set in (general.architecture first, as
// llama.cpp's writer does); tensors are laid out in the order added.
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);
  void add_tensor(GgufTensorToWrite tensor);
  // Checks every tensor (unique names, data size = ne and type) and writes the
  // file atomically (temporary file, fsync, rename). Throws qp::Error naming
  // the path and the problem.
  void write(const std::filesystem::path& path) const;

  size_t tensor_count() const { return tensors_.size(); }

 private:
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorToWrite> tensors_;
};

// ---- reading ----

struct GgufTensorInfo {
  std::string name;
  quant::GgmlType type = quant::GgmlType::F32;
  std::vector<int64_t> ne;
  uint64_t offset = 0;  // within the data section
  uint64_t bytes = 0;
  int64_t count() const;
};

class MappedFile;

// A GGUF file, memory-mapped and checked in full when opened: every length,
// count, offset and size against the file, the alignment, the tensor types and
// shapes. Each problem is one qp::Error "[gguf] <path>: <what>".
class GgufFile {
 public:
  explicit GgufFile(const std::filesystem::path& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::filesystem::path& path() const { return path_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups; throw naming the key when it is missing or of another type.
  const GgufValue& require(std::string_view key) const;
  int64_t integer(std::string_view key) const;
  int64_t integer_or(std::string_view key, int64_t fallback) const;
  double number(std::string_view key) const;
  std::string string(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  std::span<const uint8_t> tensor_bytes(const GgufTensorInfo& tensor) const;

 private:
  std::filesystem::path path_;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_start_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace qp
