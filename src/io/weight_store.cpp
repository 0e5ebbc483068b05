#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_read.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"

namespace qp {
namespace {

using json = nlohmann::json;

json read_index(const std::filesystem::path& path) {
  const json index = read_json_object_file(path);
  const JsonFields fields(index, path.string());
  const JsonFields map = fields.object("weight_map");
  for (const auto& [name, shard] : map.raw().items()) {
    const std::filesystem::path file = map.string_value(shard, name);
    // Shards live in the model directory itself.
    if (file.empty() || file.has_parent_path() || file == "." || file == "..")
      fail(path.string(), ": weight_map entry ", json_excerpt(name), " names shard ",
           json_excerpt(file.string()), ", expected a file name in the same directory");
  }
  return map.raw();
}

// Opens one weight file, keeping it alive in the store, and returns its tensors.
using OpenFile = std::function<const std::vector<TensorView>&(const std::filesystem::path&)>;

void add_shards(const std::filesystem::path& dir, const std::filesystem::path& index_path,
                const OpenFile& open, std::map<std::string, const TensorView*>& by_name) {
  const json weight_map = read_index(index_path);
  std::set<std::string> shard_names;
  for (const auto& [name, shard] : weight_map.items()) shard_names.insert(shard.get<std::string>());
  std::map<std::string, std::map<std::string, const TensorView*>> shards;
  for (const std::string& shard : shard_names) {
    const std::filesystem::path shard_path = dir / shard;
    // The name comes from the file: it may be too long for the file system
    // (status() then throws where exists() with an error code does not).
    std::error_code ec;
    if (!std::filesystem::exists(shard_path, ec))
      fail(index_path.string(), ": shard ", json_excerpt(json(shard)), " does not exist in ", dir.string(),
           ec ? cat(" (", ec.message(), ")") : std::string());
    for (const TensorView& view : open(shard_path)) shards[shard].emplace(view.name, &view);
  }
  for (const auto& [name, shard] : weight_map.items()) {
    const auto& tensors = shards[shard.get<std::string>()];
    const auto it = tensors.find(name);
    if (it == tensors.end())
      fail(index_path.string(), ": tensor ", json_excerpt(json(name)), " is not in its shard ",
           json_excerpt(shard));
    by_name.emplace(name, it->second);
  }
}

}  // namespace

WeightStore WeightStore::open_dir(const std::filesystem::path& dir) {
  WeightStore store;
  store.dir_ = dir;
  const OpenFile open_safetensors =
      [&store](const std::filesystem::path& path) -> const std::vector<TensorView>& {
    store.files_.push_back(std::make_shared<const SafetensorsFile>(path));
    return store.files_.back()->tensors();
  };
  const OpenFile open_torch = [&store](const std::filesystem::path& path) -> const std::vector<TensorView>& {
    store.checkpoints_.push_back(std::make_shared<const TorchCheckpoint>(path));
    return store.checkpoints_.back()->tensors();
  };
  // In order of preference, as transformers loads them.
  const struct {
    const char* single;
    const char* index;
    const OpenFile& open;
  } layouts[] = {{"model.safetensors", "model.safetensors.index.json", open_safetensors},
                 {"pytorch_model.bin", "pytorch_model.bin.index.json", open_torch}};
  for (const auto& layout : layouts) {
    if (std::filesystem::exists(dir / layout.single)) {
      for (const TensorView& view : layout.open(dir / layout.single))
        store.by_name_.emplace(view.name, &view);
      return store;
    }
    if (std::filesystem::exists(dir / layout.index)) {
      add_shards(dir, dir / layout.index, layout.open, store.by_name_);
      return store;
    }
  }
  fail(dir.string(),
       ": no model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
       "pytorch_model.bin.index.json");
}

WeightStore WeightStore::names_only(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  WeightStore store;
  store.dir_ = dir;
  for (const std::string& name : names) {
    store.names_only_.push_back(std::make_unique<TensorView>(TensorView{name, DType::F32, {}, nullptr, 0}));
    store.by_name_.emplace(name, store.names_only_.back().get());
  }
  return store;
}

const TensorView* WeightStore::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

void WeightStore::replace_values(const std::string& name, std::vector<float> values) {
  const TensorView& old = require(name);
  if (static_cast<int64_t>(values.size()) != old.numel())
    fail(dir_.string(), ": replacing tensor '", name, "': ", values.size(), " values for ", old.numel());
  auto replacement = std::make_unique<Replacement>();
  replacement->values = std::move(values);
  replacement->view = {name, DType::F32, old.shape,
                       reinterpret_cast<const std::byte*>(replacement->values.data()),
                       replacement->values.size() * sizeof(float)};
  by_name_[name] = &replacement->view;
  replacements_.push_back(std::move(replacement));
}

WeightStore::~WeightStore() {
  for (const auto& file : files_)
    if (file && file.use_count() > 1) file->drop_resident_pages();
}

std::shared_ptr<const void> WeightStore::mapping_of(const TensorView& view) const {
  if (!view.data) return nullptr;
  for (const auto& file : files_)
    if (file->holds(view.data)) return file;
  return nullptr;
}

const TensorView& WeightStore::require(const std::string& name) const {
  const TensorView* view = find(name);
  if (!view) fail(dir_.string(), ": missing tensor '", name, "'");
  return *view;
}

std::vector<float> WeightStore::load_f32(const std::string& name, const Shape& expected_shape) const {
  const TensorView& view = require(name);
  if (!view.data)
    fail(dir_.string(), ": tensor '", name, "' is a name without values (a store of names only)");
  if (view.shape != expected_shape)
    fail(dir_.string(), ": tensor '", name, "' has shape ", shape_string(view.shape), ", expected ",
         shape_string(expected_shape));
  std::vector<float> values;
  try {
    values = to_f32(view);
  } catch (const Error& e) {
    fail(dir_.string(), ": ", e.what());
  }
  require_finite(values, cat(dir_.string(), ": tensor '", name, "'"));
  return values;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [name, view] : by_name_) out.push_back(name);
  return out;
}

}  // namespace qp
