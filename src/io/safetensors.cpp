#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/dtype.h"
#include "core/error.h"
#include "core/json_read.h"

namespace qp {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors reader assumes a little-endian host");

using json = nlohmann::json;

// One parsed header entry with its offsets relative to the data section.
struct Entry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

class HeaderParser {
 public:
  HeaderParser(const std::filesystem::path& path, uint64_t data_size)
      : path_(path.string()), data_size_(data_size) {}

  template <typename... Parts>
  [[noreturn]] void error(Parts&&... parts) const {
    fail("[safetensors] ", path_, ": ", std::forward<Parts>(parts)...);
  }

  std::map<std::string, std::string> metadata(const json& value) const {
    if (!value.is_object()) error("__metadata__ is ", json_kind(value), ", expected an object of strings");
    std::map<std::string, std::string> out;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string())
        error("__metadata__ key ", json_excerpt(key), " is ", json_excerpt(item), ", expected a string");
      out.emplace(key, item.get<std::string>());
    }
    return out;
  }

  Entry entry(const std::string& name, const json& value) const {
    if (!value.is_object()) error("tensor '", name, "' is ", json_excerpt(value), ", expected an object");
    Entry e;
    e.name = name;
    e.dtype = dtype(name, value);
    e.shape = shape(name, value);
    offsets(name, value, e);
    check_size(e);
    return e;
  }

 private:
  DType dtype(const std::string& name, const json& value) const {
    const auto it = value.find("dtype");
    if (it == value.end()) error("tensor '", name, "' has no dtype");
    if (!it->is_string()) error("tensor '", name, "' has dtype ", json_excerpt(*it), ", expected a string");
    const std::string text = it->get<std::string>();
    const std::optional<DType> dtype = dtype_from_safetensors_name(text);
    if (!dtype) error("tensor '", name, "' has unknown dtype ", json_excerpt(*it));
    return *dtype;
  }

  Shape shape(const std::string& name, const json& value) const {
    const auto it = value.find("shape");
    if (it == value.end()) error("tensor '", name, "' has no shape");
    if (!it->is_array())
      error("tensor '", name, "' has shape ", json_excerpt(*it), ", expected a list of non-negative ints");
    Shape out;
    for (const json& dim : *it) {
      // A parsed non-negative integer is always number_unsigned in nlohmann::json.
      if (!dim.is_number_unsigned())
        error("tensor '", name, "' has shape ", json_excerpt(*it), ", expected a list of non-negative ints");
      const uint64_t d = dim.get<uint64_t>();
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        error("tensor '", name, "' has shape ", json_excerpt(*it), " with a dimension too large");
      out.push_back(static_cast<int64_t>(d));
    }
    return out;
  }

  void offsets(const std::string& name, const json& value, Entry& e) const {
    const auto it = value.find("data_offsets");
    if (it == value.end()) error("tensor '", name, "' has no data_offsets");
    const bool two_ints =
        it->is_array() && it->size() == 2 && (*it)[0].is_number_unsigned() && (*it)[1].is_number_unsigned();
    if (!two_ints)
      error("tensor '", name, "' has data_offsets ", json_excerpt(*it),
            ", expected [begin, end] (two non-negative ints)");
    e.begin = (*it)[0].get<uint64_t>();
    e.end = (*it)[1].get<uint64_t>();
    if (e.begin > e.end)
      error("tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] with begin > end");
    if (e.end > data_size_)
      error("tensor '", name, "' ends at byte ", e.end, " but the data section has ", data_size_, " bytes");
  }

  void check_size(const Entry& e) const {
    // numel * size, refusing overflow (a hostile shape must not wrap around).
    // A zero dimension makes the tensor empty; the other dimensions must then
    // still fit the data section, or they could be anything a reader takes
    // one by one (rows of an embedding, labels).
    uint64_t nonzero = dtype_size(e.dtype);
    bool empty = false;
    for (int64_t d : e.shape) {
      const uint64_t dim = static_cast<uint64_t>(d);
      if (dim == 0) {
        empty = true;
        continue;
      }
      if (nonzero > std::numeric_limits<uint64_t>::max() / dim)
        error("tensor '", e.name, "' has shape ", shape_string(e.shape), " whose byte count overflows");
      nonzero *= dim;
    }
    if (empty && nonzero > data_size_)
      error("tensor '", e.name, "' has shape ", shape_string(e.shape), ": empty, but its other dimensions ",
            "are more than the ", data_size_, "-byte data section could hold");
    const uint64_t expected = empty ? 0 : nonzero;
    const uint64_t actual = e.end - e.begin;
    if (actual != expected)
      error("tensor '", e.name, "' has ", actual, " bytes but shape ", shape_string(e.shape), " of ",
            dtype_name(e.dtype), " needs ", expected);
  }

  std::string path_;
  uint64_t data_size_;
};

// Tensors sorted by offset must tile the data section exactly: no shared
// bytes, no gaps, nothing after the last one (empty tensors take no bytes).
// A gap or a tail means the header length or an offset is wrong: a header
// length one byte too long (JSON allows the padding) shifts every tensor by a
// byte, and only this check notices.
void check_tiling(std::vector<Entry> entries, uint64_t data_size, const HeaderParser& parser) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* previous = nullptr;
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (previous && e.begin < previous->end)
      parser.error("tensors '", previous->name, "' [", previous->begin, ", ", previous->end, ") and '",
                   e.name, "' [", e.begin, ", ", e.end, ") overlap");
    if (e.begin > covered)
      parser.error("bytes [", covered, ", ", e.begin, ") of the data section belong to no tensor (before '",
                   e.name, "'); the header length or the data_offsets are wrong");
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    parser.error("the tensors end at byte ", covered, " of the data section but it has ", data_size,
                 " bytes; the header length or the data_offsets are wrong");
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string where = "[safetensors] " + path.string() + ": ";
  const uint64_t size = file_.size();
  if (size < 8) fail(where, "file has ", size, " bytes, too short for the 8-byte header length");
  uint64_t header_size = 0;
  std::memcpy(&header_size, file_.data(), 8);
  if (header_size > size - 8)
    fail(where, "header length ", header_size, " is larger than the rest of the file (", size - 8, " bytes)");

  const char* header_begin = reinterpret_cast<const char*>(file_.data()) + 8;
  const json header =
      parse_json(std::string_view(header_begin, header_size), "[safetensors] " + path.string() + " header");
  if (!header.is_object()) fail(where, "header is ", json_kind(header), ", expected a JSON object");

  const uint64_t data_offset = 8 + header_size;
  const HeaderParser parser(path, size - data_offset);
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__")
      metadata_ = parser.metadata(value);
    else
      entries.push_back(parser.entry(key, value));
  }
  check_tiling(entries, size - data_offset, parser);

  tensors_.reserve(entries.size());
  for (Entry& e : entries) {
    index_.emplace(e.name, tensors_.size());
    TensorView view;
    view.name = std::move(e.name);
    view.dtype = e.dtype;
    view.shape = std::move(e.shape);
    view.data = file_.data() + data_offset + e.begin;
    view.nbytes = static_cast<size_t>(e.end - e.begin);
    tensors_.push_back(std::move(view));
  }
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qp
