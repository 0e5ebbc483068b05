#include "io/torch_checkpoint.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <optional>

#include "core/dtype.h"
#include "core/error.h"
#include "io/pickle_reader.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxRank = 64;  // dimensions of a tensor: encoders use at most 4

constexpr std::string_view kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr std::string_view kRebuildTensor = "torch._utils._rebuild_tensor";
constexpr std::string_view kRebuildParameter = "torch._utils._rebuild_parameter";

// The storage classes torch.save names in a storage's persistent id.
struct StorageType {
  std::string_view global;
  DType dtype;
};
constexpr std::array<StorageType, 10> kStorageTypes = {{
    {"torch.FloatStorage", DType::F32},
    {"torch.HalfStorage", DType::F16},
    {"torch.BFloat16Storage", DType::BF16},
    {"torch.DoubleStorage", DType::F64},
    {"torch.LongStorage", DType::I64},
    {"torch.IntStorage", DType::I32},
    {"torch.ShortStorage", DType::I16},
    {"torch.CharStorage", DType::I8},
    {"torch.ByteStorage", DType::U8},
    {"torch.BoolStorage", DType::Bool},
}};

// Everything a state dict's pickle may name; anything else is refused.
const PickleGlobals& allowed_globals() {
  static const PickleGlobals globals = [] {
    PickleGlobals g = {
        {"collections.OrderedDict", GlobalUse::EmptyDict},
        {std::string(kRebuildTensorV2), GlobalUse::Call},
        {std::string(kRebuildTensor), GlobalUse::Call},
        {std::string(kRebuildParameter), GlobalUse::Call},
    };
    for (const StorageType& s : kStorageTypes) g.emplace(std::string(s.global), GlobalUse::Reference);
    return g;
  }();
  return globals;
}

// The pre-1.6 format is a bare pickle stream (it starts with PROTO 2); it is
// refused before mapping it as a zip so the message can say what to do.
const fs::path& refuse_non_zip(const fs::path& path) {
  std::array<char, 4> head{};
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[torch] ", path.string(), ": cannot open the file");
  in.read(head.data(), head.size());
  const auto bytes = std::as_bytes(std::span(head.data(), static_cast<size_t>(in.gcount())));
  if (looks_like_zip(bytes)) return path;
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80 && static_cast<uint8_t>(bytes[1]) <= 5)
    fail("[torch] ", path.string(),
         ": is a legacy (pre-PyTorch-1.6, non-zip) checkpoint, which quantpipe does not read; ",
         "convert it once with python3 -c \"import torch; torch.save(torch.load('", path.filename().string(),
         "', map_location='cpu'), '", path.filename().string(), "', _use_new_zipfile_serialization=True)\" ",
         "(load only files you trust: torch.load runs pickled code), or save it as model.safetensors");
  fail("[torch] ", path.string(), ": is not a zip archive (torch.save's format since PyTorch 1.6)",
       bytes.empty() ? "; the file is empty" : "");
}

class TensorBuilder {
 public:
  TensorBuilder(const ZipArchive& zip, std::string prefix) : zip_(zip), prefix_(std::move(prefix)) {}

  template <typename... Parts>
  [[noreturn]] void error(Parts&&... parts) const {
    fail("[torch] ", zip_.path().string(), ": ", std::forward<Parts>(parts)...);
  }

  TensorView tensor(const std::string& name, const PickleValue& value) const {
    // An nn.Parameter wraps its tensor (one level only: no recursion a hostile file could deepen).
    const bool parameter =
        value.kind == PickleKind::Call && value.text == kRebuildParameter && !value.items.empty();
    return rebuilt_tensor(name, parameter ? *value.items[0] : value);
  }

 private:
  TensorView rebuilt_tensor(const std::string& name, const PickleValue& value) const {
    const bool rebuild =
        value.kind == PickleKind::Call && (value.text == kRebuildTensorV2 || value.text == kRebuildTensor);
    if (!rebuild || value.items.size() < 4)
      error("entry '", name, "' is a ", pickle_kind_name(value.kind),
            value.kind == PickleKind::Call ? " of " + value.text : "", ", expected a tensor (",
            kRebuildTensorV2, " with at least 4 arguments)");
    TensorView view;
    view.name = name;
    const Storage storage = find_storage(name, *value.items[0]);
    view.dtype = storage.dtype;
    const int64_t offset = integer(name, "storage offset", *value.items[1]);
    view.shape = int_tuple(name, "size", *value.items[2]);
    const Shape stride = int_tuple(name, "stride", *value.items[3]);
    if (stride.size() != view.shape.size())
      error("tensor '", name, "' has size ", shape_string(view.shape), " but stride ", shape_string(stride));
    const uint64_t numel = checked_numel(name, view.shape, storage.numel);
    if (numel > 0) {
      check_contiguous(name, view.shape, stride);
      if (static_cast<uint64_t>(offset) > storage.numel ||
          numel > storage.numel - static_cast<uint64_t>(offset))
        error("tensor '", name, "' needs elements [", offset, ", ", static_cast<uint64_t>(offset) + numel,
              ") of its storage '", storage.key, "', which has ", storage.numel);
    }
    const size_t elem = dtype_size(storage.dtype);
    view.data = storage.bytes.data() + (numel > 0 ? static_cast<uint64_t>(offset) * elem : 0);
    view.nbytes = numel * elem;
    return view;
  }

  struct Storage {
    std::string key;
    DType dtype = DType::F32;
    uint64_t numel = 0;
    std::span<const std::byte> bytes;
  };

  int64_t integer(const std::string& name, std::string_view role, const PickleValue& v) const {
    if (v.kind != PickleKind::Int || v.integer < 0)
      error("tensor '", name, "' has ", role, " ", v.kind == PickleKind::Int ? std::to_string(v.integer) : "",
            v.kind == PickleKind::Int ? "" : pickle_kind_name(v.kind), ", expected a non-negative int");
    return v.integer;
  }

  Shape int_tuple(const std::string& name, std::string_view role, const PickleValue& v) const {
    if (v.kind != PickleKind::Tuple)
      error("tensor '", name, "' has a ", role, " that is a ", pickle_kind_name(v.kind));
    if (v.items.size() > kMaxRank)
      error("tensor '", name, "' has a ", role, " of ", v.items.size(), " dimensions (at most ", kMaxRank,
            ")");
    Shape out;
    for (const PickleValue* item : v.items) out.push_back(integer(name, role, *item));
    return out;
  }

  // The element count, refusing overflow. The non-zero dimensions are held
  // to what the storage holds (or a small empty shape): a zero among them
  // would otherwise let the others be anything, and readers take them one by one.
  uint64_t checked_numel(const std::string& name, const Shape& shape, uint64_t storage_numel) const {
    const uint64_t bound = std::max<uint64_t>(storage_numel, uint64_t{1} << 16);
    uint64_t n = 1, nonzero = 1;
    for (int64_t d : shape) {
      const uint64_t dim = static_cast<uint64_t>(d);
      if (dim != 0 && nonzero > bound / dim)
        error("tensor '", name, "' has size ", shape_string(shape), " but its storage holds ", storage_numel,
              " elements");
      if (dim != 0) nonzero *= dim;
      n *= dim;
    }
    return n;
  }

  // Row-major with any stride on dimensions of size 1, as torch's is_contiguous.
  void check_contiguous(const std::string& name, const Shape& shape, const Shape& stride) const {
    int64_t expected = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] != 1 && stride[i] != expected)
        error("tensor '", name, "' is not contiguous (size ", shape_string(shape), ", stride ",
              shape_string(stride), "); save it with .contiguous()");
      expected *= shape[i];
    }
  }

  Storage find_storage(const std::string& name, const PickleValue& v) const {
    const PickleValue* id = v.kind == PickleKind::PersistentId ? v.items[0] : nullptr;
    const bool shaped = id && id->kind == PickleKind::Tuple && id->items.size() == 5 &&
                        id->items[0]->kind == PickleKind::String && id->items[0]->text == "storage" &&
                        id->items[1]->kind == PickleKind::Global &&
                        id->items[2]->kind == PickleKind::String && id->items[4]->kind == PickleKind::Int &&
                        id->items[4]->integer >= 0;
    if (!shaped)
      error("tensor '", name,
            "' has a storage that is not a persistent id ('storage', <storage type>, key, location, numel)");
    Storage s;
    s.key = id->items[2]->text;
    const std::string& type = id->items[1]->text;
    const StorageType* st = nullptr;
    for (const StorageType& row : kStorageTypes)
      if (row.global == type) st = &row;
    if (!st) error("tensor '", name, "' has storage type '", type, "', which is not a storage class");
    s.dtype = st->dtype;
    s.numel = static_cast<uint64_t>(id->items[4]->integer);
    const std::string entry = prefix_ + "/data/" + s.key;
    const std::span<const std::byte>* bytes = zip_.find(entry);
    if (!bytes)
      error("tensor '", name, "' needs storage entry '", entry, "', which the archive does not have");
    const size_t elem = dtype_size(s.dtype);
    if (s.numel > std::numeric_limits<uint64_t>::max() / elem || bytes->size() != s.numel * elem)
      error("storage entry '", entry, "' has ", bytes->size(), " bytes but its persistent id says ", s.numel,
            " × ", dtype_name(s.dtype), " (", elem, " bytes each)");
    s.bytes = *bytes;
    return s;
  }

  const ZipArchive& zip_;
  std::string prefix_;
};

// torch names the archive's top folder after the file; any single folder holding data.pkl is accepted.
std::string archive_prefix(const ZipArchive& zip) {
  std::optional<std::string> prefix;
  for (const auto& [name, bytes] : zip.entries()) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos || name.substr(slash) != "/data.pkl") continue;
    if (prefix)
      fail("[torch] ", zip.path().string(), ": holds two checkpoints ('", *prefix, "/data.pkl' and '", name,
           "')");
    prefix = name.substr(0, slash);
  }
  if (!prefix)
    fail("[torch] ", zip.path().string(),
         ": has no <archive>/data.pkl entry, so it is not a torch.save checkpoint (a TorchScript archive?)");
  if (const auto* order = zip.find(*prefix + "/byteorder")) {
    const std::string text(reinterpret_cast<const char*>(order->data()), order->size());
    if (text != "little")
      fail("[torch] ", zip.path().string(), ": stores tensors in '", text,
           "' byte order; only little-endian is read");
  }
  return *prefix;
}

}  // namespace

TorchCheckpoint::TorchCheckpoint(const fs::path& path) : zip_(refuse_non_zip(path)) {
  const std::string prefix = archive_prefix(zip_);
  const std::string pkl = prefix + "/data.pkl";
  const PickleDocument doc =
      read_pickle(*zip_.find(pkl), allowed_globals(), path.string() + " entry '" + pkl + "'");
  const PickleValue& root = doc.root();
  if (root.kind != PickleKind::Dict)
    fail("[torch] ", path.string(), ": the pickle holds a ", pickle_kind_name(root.kind),
         ", expected a dict of tensor name → tensor (a state_dict)");
  const TensorBuilder builder(zip_, prefix);
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const PickleValue& key = *root.items[i];
    if (key.kind != PickleKind::String)
      fail("[torch] ", path.string(), ": the state dict has a ", pickle_kind_name(key.kind),
           " key, expected str");
    if (!index_.emplace(key.text, tensors_.size()).second)
      fail("[torch] ", path.string(), ": tensor '", key.text, "' appears twice");
    tensors_.push_back(builder.tensor(key.text, *root.items[i + 1]));
  }
}

const TensorView* TorchCheckpoint::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qp
