// GGUF writer: header in memory, then each tensor's bytes at the next multiple
// of the alignment, through AtomicFile so a failed write leaves nothing behind.
#include <cstring>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/gguf.h"

namespace qp {
namespace {

class ByteSink {
 public:
  template <typename T>
  void pod(T value) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &value, sizeof(T));
  }
  void text(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  std::vector<uint8_t> bytes;
};

void put_scalar(ByteSink& out, GgufType type, const GgufValue& v) {
  switch (type) {
    case GgufType::Uint8:
      out.pod<uint8_t>(static_cast<uint8_t>(v.integer));
      return;
    case GgufType::Int8:
      out.pod<int8_t>(static_cast<int8_t>(v.integer));
      return;
    case GgufType::Uint16:
      out.pod<uint16_t>(static_cast<uint16_t>(v.integer));
      return;
    case GgufType::Int16:
      out.pod<int16_t>(static_cast<int16_t>(v.integer));
      return;
    case GgufType::Uint32:
      out.pod<uint32_t>(static_cast<uint32_t>(v.integer));
      return;
    case GgufType::Int32:
      out.pod<int32_t>(static_cast<int32_t>(v.integer));
      return;
    case GgufType::Uint64:
      out.pod<uint64_t>(static_cast<uint64_t>(v.integer));
      return;
    case GgufType::Int64:
      out.pod<int64_t>(v.integer);
      return;
    case GgufType::Float32:
      out.pod<float>(static_cast<float>(v.number));
      return;
    case GgufType::Float64:
      out.pod<double>(v.number);
      return;
    case GgufType::Bool:
      out.pod<uint8_t>(v.integer != 0 ? 1 : 0);
      return;
    case GgufType::String:
      out.text(v.text);
      return;
    case GgufType::Array:
      fail("[gguf] arrays of arrays are not written");
  }
  fail("[gguf] unknown value type ", static_cast<uint32_t>(type));
}

void put_value(ByteSink& out, const GgufValue& v) {
  out.pod<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type != GgufType::Array) return put_scalar(out, v.type, v);
  out.pod<uint32_t>(static_cast<uint32_t>(v.element));
  out.pod<uint64_t>(v.items.size());
  for (const GgufValue& item : v.items) put_scalar(out, v.element, item);
}

uint64_t align_up(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufValue GgufValue::strings(const std::vector<std::string>& values) {
  GgufValue v{GgufType::Array};
  v.element = GgufType::String;
  v.items.reserve(values.size());
  for (const std::string& s : values) v.items.push_back(string(s));
  return v;
}

GgufValue GgufValue::i32s(std::span<const int32_t> values) {
  GgufValue v{GgufType::Array};
  v.element = GgufType::Int32;
  for (int32_t x : values) v.items.push_back(i32(x));
  return v;
}

GgufValue GgufValue::f32s(std::span<const float> values) {
  GgufValue v{GgufType::Array};
  v.element = GgufType::Float32;
  for (float x : values) v.items.push_back(f32(x));
  return v;
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(GgufTensorToWrite tensor) { tensors_.push_back(std::move(tensor)); }

void GgufWriter::write(const std::filesystem::path& path) const {
  uint64_t alignment = kGgufDefaultAlignment;
  for (const auto& [key, value] : kv_)
    if (key == "general.alignment") alignment = static_cast<uint64_t>(value.integer);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 20))
    fail("[gguf] ", path.string(), ": general.alignment ", alignment, " is not a power of two up to 1 MiB");
  std::set<std::string> names;
  ByteSink header;
  header.bytes = {'G', 'G', 'U', 'F'};
  header.pod<uint32_t>(kGgufVersion);
  header.pod<int64_t>(static_cast<int64_t>(tensors_.size()));
  header.pod<int64_t>(static_cast<int64_t>(kv_.size()));
  for (const auto& [key, value] : kv_) {
    header.text(key);
    put_value(header, value);
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const GgufTensorToWrite& t : tensors_) {
    if (t.name.empty() || !names.insert(t.name).second)
      fail("[gguf] ", path.string(), ": tensor name '", t.name, "' is empty or repeated");
    if (t.ne.empty() || t.ne.size() > 4)
      fail("[gguf] ", path.string(), ": tensor '", t.name, "' needs 1 to 4 dims");
    int64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
    const int64_t expected = quant::ggml_row_bytes(t.type, t.ne[0]) * rows;
    if (expected != static_cast<int64_t>(t.data.size()))
      fail("[gguf] ", path.string(), ": tensor '", t.name, "' has ", t.data.size(),
           " bytes, its shape and type need ", expected);
    header.text(t.name);
    header.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) header.pod<int64_t>(n);
    header.pod<uint32_t>(static_cast<uint32_t>(t.type));
    header.pod<uint64_t>(offset);
    offsets.push_back(offset);
    offset = align_up(offset + t.data.size(), alignment);
  }
  header.bytes.resize(align_up(header.bytes.size(), alignment), 0);

  AtomicFile file(path);
  file.write(header.bytes.data(), header.bytes.size());
  const std::vector<uint8_t> zeros(static_cast<size_t>(alignment), 0);  // padding is < alignment
  uint64_t written = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    file.write(zeros.data(), offsets[i] - written);
    file.write(tensors_[i].data.data(), tensors_[i].data.size());
    written = offsets[i] + tensors_[i].data.size();
  }
  file.write(zeros.data(), offset - written);
  file.commit();
}

}  // namespace qp
