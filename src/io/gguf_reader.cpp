// GGUF reader: parses the header from the mapped file with a cursor that
// checks every read against the file length, then checks the tensor table
// (types, shapes, alignment, offsets and sizes inside the data section).
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/gguf.h"

namespace qp {
namespace {

constexpr uint32_t kOldestVersion = 2;  // v2 and v3 share the little-endian layout
constexpr int kMaxDims = 4;             // GGML_MAX_DIMS

class Cursor {
 public:
  Cursor(const std::filesystem::path& path, std::span<const std::byte> bytes) : path_(path), bytes_(bytes) {}

  [[noreturn]] void truncated(std::string_view what, uint64_t need) const {
    fail("[gguf] ", path_.string(), ": truncated: ", what, " at byte ", at_, " needs ", need,
         " bytes but the file has ", bytes_.size() - at_, " left (", bytes_.size(), " in all)");
  }

  void need(std::string_view what, uint64_t size) const {
    if (size > bytes_.size() - at_) truncated(what, size);
  }

  template <typename T>
  T pod(std::string_view what) {
    need(what, sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }

  std::string text(std::string_view what) {
    const auto size = pod<uint64_t>(what);
    need(what, size);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + at_), static_cast<size_t>(size));
    at_ += static_cast<size_t>(size);
    return s;
  }

  uint64_t at() const { return at_; }
  uint64_t left() const { return bytes_.size() - at_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  const std::filesystem::path& path_;
  std::span<const std::byte> bytes_;
  uint64_t at_ = 0;
};

// The smallest encoding of one value of `type`, to bound array counts before
// allocating for them.
uint64_t min_size(GgufType type) {
  switch (type) {
    case GgufType::Uint8:
    case GgufType::Int8:
    case GgufType::Bool:
      return 1;
    case GgufType::Uint16:
    case GgufType::Int16:
      return 2;
    case GgufType::Uint32:
    case GgufType::Int32:
    case GgufType::Float32:
      return 4;
    case GgufType::Uint64:
    case GgufType::Int64:
    case GgufType::Float64:
    case GgufType::String:
      return 8;
    case GgufType::Array:
      return 12;
  }
  return 1;
}

bool known_value_type(uint32_t type) { return type <= static_cast<uint32_t>(GgufType::Float64); }

GgufValue read_scalar(Cursor& in, GgufType type, const std::string& key) {
  GgufValue v{type};
  const std::string what = "the value of '" + key + "'";
  switch (type) {
    case GgufType::Uint8:
      v.integer = in.pod<uint8_t>(what);
      break;
    case GgufType::Int8:
      v.integer = in.pod<int8_t>(what);
      break;
    case GgufType::Uint16:
      v.integer = in.pod<uint16_t>(what);
      break;
    case GgufType::Int16:
      v.integer = in.pod<int16_t>(what);
      break;
    case GgufType::Uint32:
      v.integer = in.pod<uint32_t>(what);
      break;
    case GgufType::Int32:
      v.integer = in.pod<int32_t>(what);
      break;
    case GgufType::Uint64:
      v.integer = static_cast<int64_t>(in.pod<uint64_t>(what));
      break;
    case GgufType::Int64:
      v.integer = in.pod<int64_t>(what);
      break;
    case GgufType::Float32:
      v.number = in.pod<float>(what);
      break;
    case GgufType::Float64:
      v.number = in.pod<double>(what);
      break;
    case GgufType::Bool: {
      const auto b = in.pod<uint8_t>(what);
      if (b > 1)
        fail("[gguf] ", in.path().string(), ": key '", key, "': bool value ", int{b}, " is not 0 or 1");
      v.integer = b;
      break;
    }
    case GgufType::String:
      v.text = in.text(what);
      break;
    case GgufType::Array:
      fail("[gguf] ", in.path().string(), ": key '", key, "': arrays of arrays are not supported");
  }
  return v;
}

GgufValue read_value(Cursor& in, const std::string& key) {
  const auto type = in.pod<uint32_t>("the type of '" + key + "'");
  if (!known_value_type(type))
    fail("[gguf] ", in.path().string(), ": key '", key, "' has value type ", type,
         ", which is not a GGUF type (0..12)");
  if (static_cast<GgufType>(type) != GgufType::Array)
    return read_scalar(in, static_cast<GgufType>(type), key);
  GgufValue v{GgufType::Array};
  const auto element = in.pod<uint32_t>("the element type of '" + key + "'");
  if (!known_value_type(element) || static_cast<GgufType>(element) == GgufType::Array)
    fail("[gguf] ", in.path().string(), ": key '", key, "' is an array of value type ", element,
         ", which quantpipe does not read");
  v.element = static_cast<GgufType>(element);
  const auto count = in.pod<uint64_t>("the length of '" + key + "'");
  if (count > in.left() / min_size(v.element))
    in.truncated("the " + std::to_string(count) + " items of '" + key + "'", count * min_size(v.element));
  v.items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) v.items.push_back(read_scalar(in, v.element, key));
  return v;
}

std::string shape_text(const std::vector<int64_t>& ne) {
  std::string text = "[";
  for (size_t i = 0; i < ne.size(); ++i) text += (i ? ", " : "") + std::to_string(ne[i]);
  return text + "]";
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::string_view kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                "int32",  "float32", "bool",   "string", "array",
                                                "uint64", "int64",   "float64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

int64_t GgufTensorInfo::count() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufFile::GgufFile(const std::filesystem::path& path)
    : path_(path), file_(std::make_unique<MappedFile>(path)) {
  const std::string where = "[gguf] " + path.string() + ": ";
  Cursor in(path_, file_->bytes());
  in.need("the magic", 4);
  if (std::memcmp(file_->data(), "GGUF", 4) != 0) {
    char magic[5] = {};
    std::memcpy(magic, file_->data(), 4);
    for (char& c : magic)
      if (c != 0 && (c < 32 || c > 126)) c = '?';
    fail(where, "not a GGUF file: it starts with \"", magic, "\", not \"GGUF\"");
  }
  in.pod<uint32_t>("the magic");
  version_ = in.pod<uint32_t>("the version");
  if (version_ > kGgufVersion)
    fail(where, "GGUF version ", version_, " is newer than quantpipe reads (", kOldestVersion, " to ",
         kGgufVersion, "); update quantpipe");
  if (version_ < kOldestVersion)
    fail(where, "GGUF version ", version_, " is older than quantpipe reads (", kOldestVersion, " to ",
         kGgufVersion, "); convert it again with a current llama.cpp");
  const auto tensor_count = in.pod<int64_t>("the tensor count");
  const auto kv_count = in.pod<int64_t>("the key/value count");
  if (tensor_count < 0 || static_cast<uint64_t>(tensor_count) > in.left() / 24)
    fail(where, "truncated or corrupt: tensor count ", tensor_count, " cannot fit in the file (",
         file_->size(), " bytes)");
  if (kv_count < 0 || static_cast<uint64_t>(kv_count) > in.left() / 12)
    fail(where, "truncated or corrupt: key/value count ", kv_count, " cannot fit in the file (",
         file_->size(), " bytes)");

  std::unordered_set<std::string> keys;  // a set: a scan per key is quadratic in a crafted file
  for (int64_t i = 0; i < kv_count; ++i) {
    std::string key = in.text("key " + std::to_string(i));
    if (!keys.insert(key).second) fail(where, "key '", key, "' appears twice");
    GgufValue value = read_value(in, key);
    kv_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::Uint32 || a->integer == 0 || (a->integer & (a->integer - 1)) != 0)
      fail(where, "general.alignment must be a power-of-two uint32, not ", a->integer, " (",
           gguf_type_name(a->type), ")");
    alignment_ = static_cast<uint32_t>(a->integer);
  }

  for (int64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = in.text("tensor name " + std::to_string(i));
    const std::string tw = where + "tensor '" + t.name + "': ";
    if (tensor_index_.count(t.name) != 0) fail(tw, "the name appears twice");
    const auto dims = in.pod<uint32_t>("the dims of '" + t.name + "'");
    if (dims == 0 || dims > kMaxDims) fail(tw, dims, " dimensions (GGUF allows 1 to ", kMaxDims, ")");
    // The product of the non-zero dimensions must fit too: a zero would
    // otherwise let the others be anything, and readers use them one by one.
    int64_t count = 1, nonzero = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      const auto n = in.pod<int64_t>("the shape of '" + t.name + "'");
      if (n < 0 || (n != 0 && nonzero > std::numeric_limits<int64_t>::max() / n))
        fail(tw, "dimension ", d, " = ", n, " is negative or overflows");
      if (n != 0) nonzero *= n;
      count *= n;
      t.ne.push_back(n);
    }
    const auto type = in.pod<uint32_t>("the type of '" + t.name + "'");
    const quant::GgmlTypeInfo* info = quant::find_ggml_type(type);
    if (info == nullptr) fail(tw, "ggml type ", type, " is unknown to quantpipe");
    t.type = info->type;
    if (t.ne[0] % info->block != 0)
      fail(tw, "rows of ", t.ne[0], " values do not split into ", info->name, " blocks of ", info->block);
    // Checked against the file before multiplying: no overflow, and no tensor
    // claims more bytes than there are, nor, with a zero dimension, other
    // dimensions larger than the file could hold.
    if (static_cast<uint64_t>(nonzero) / info->block > file_->size() / static_cast<uint64_t>(info->bytes))
      fail(tw, "shape ", shape_text(t.ne), " of ", info->name, " needs more bytes than the whole file has (",
           file_->size(), ")");
    t.bytes = static_cast<uint64_t>(count / info->block) * static_cast<uint64_t>(info->bytes);
    t.offset = in.pod<uint64_t>("the offset of '" + t.name + "'");
    if (t.offset % alignment_ != 0)
      fail(tw, "data offset ", t.offset, " is not a multiple of the alignment ", alignment_);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  data_start_ = (in.at() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t size = file_->size();
  if (!tensors_.empty() && data_start_ > size)
    fail(where, "truncated: the data section would start at byte ", data_start_, " but the file has ", size);
  for (const GgufTensorInfo& t : tensors_) {
    const uint64_t left = size >= data_start_ ? size - data_start_ : 0;
    if (t.offset > left || t.bytes > left - t.offset)
      fail(where, "tensor '", t.name, "': its ", t.bytes, " bytes at data offset ", t.offset,
           " lie outside the file (the data section holds ", left, " bytes)");
  }
}

GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

const GgufValue& GgufFile::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) fail("[gguf] ", path_.string(), ": key '", key, "' is missing");
  return *v;
}

int64_t GgufFile::integer(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type == GgufType::String || v.type == GgufType::Array || v.type == GgufType::Float32 ||
      v.type == GgufType::Float64)
    fail("[gguf] ", path_.string(), ": key '", key, "' is a ", gguf_type_name(v.type), ", not an integer");
  return v.integer;
}

int64_t GgufFile::integer_or(std::string_view key, int64_t fallback) const {
  return find(key) != nullptr ? integer(key) : fallback;
}

double GgufFile::number(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type == GgufType::Float32 || v.type == GgufType::Float64) return v.number;
  return static_cast<double>(integer(key));
}

std::string GgufFile::string(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::String)
    fail("[gguf] ", path_.string(), ": key '", key, "' is a ", gguf_type_name(v.type), ", not a string");
  return v.text;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_bytes(const GgufTensorInfo& t) const {
  return {reinterpret_cast<const uint8_t*>(file_->data()) + data_start_ + t.offset,
          static_cast<size_t>(t.bytes)};
}

}  // namespace qp
