// safetensors reader. Layout: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data section; offsets are relative to the data section.
// Every offset and size is checked against the file length, tensors may not
// overlap, and the byte count must equal numel * dtype size.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace qp {

class SafetensorsFile {
 public:
  // Maps and validates the file; throws qp::Error "[safetensors] <path>: <problem>".
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // Serves `values` (fp32, the tensor's shape) for `name` from now on instead
  // of the file's bytes: a model loaded from this store sees the replacement
  // (sensitivity analysis runs the fp32 model with one weight quantized this
  // way). Throws when the tensor is absent or the count differs.
  void replace_values(const std::string& name, std::vector<float> values);

  const TensorView* find(const std::string& name) const;  // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  void drop_resident_pages() const { file_.drop_resident_pages(); }
  // Whether p points into this file's mapping.
  bool holds(const void* p) const {
    const auto* b = static_cast<const std::byte*>(p);
    return b >= file_.data() && b < file_.data() + file_.size();
  }

 private:
  MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

class TorchCheckpoint;  // io/torch_checkpoint.h

// All weights of a model directory, the first of: model.safetensors, the shards
// listed in model.safetensors.index.json, pytorch_model.bin, the shards listed
// in pytorch_model.bin.index.json.
class WeightStore {
 public:
  WeightStore() = default;
  WeightStore(WeightStore&&) = default;
  WeightStore& operator=(WeightStore&&) = default;
  // Files that outlive the store (see mapping_of) give back the pages the
  // load read: only what is read after it stays resident.
  ~WeightStore();
  static WeightStore open_dir(const std::filesystem::path& dir);
  // A store of tensor names without values, for asking an architecture's
  // tensor table which layout (name prefix) a checkpoint holding these names
  // has before any weight exists (the tiny-model writer). find() and
  // require() see the names; load_f32 refuses, naming the tensor.
  static WeightStore names_only(const std::filesystem::path& dir, const std::vector<std::string>& names);

  // Serves `values` (fp32, the tensor's shape) for `name` from now on instead
  // of the file's bytes: a model loaded from this store sees the replacement
  // (sensitivity analysis runs the fp32 model with one weight quantized this
  // way). Throws when the tensor is absent or the count differs.
  void replace_values(const std::string& name, std::vector<float> values);

  const TensorView* find(const std::string& name) const;
  // Throws "<dir>: missing tensor 'name'" when absent.
  const TensorView& require(const std::string& name) const;
  // require() + shape check + conversion to fp32; refuses NaN and infinities.
  std::vector<float> load_f32(const std::string& name, const Shape& expected_shape) const;
  std::vector<std::string> names() const;
  const std::filesystem::path& dir() const { return dir_; }
  // The mapped safetensors file that holds view's bytes, to keep pointing at
  // them after the store is gone (the mapping lives while the pointer does);
  // null when they are not in a mapping (pytorch_model.bin tensors).
  std::shared_ptr<const void> mapping_of(const TensorView& view) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::vector<std::shared_ptr<const TorchCheckpoint>> checkpoints_;
  std::map<std::string, const TensorView*> by_name_;
  std::vector<std::unique_ptr<TensorView>> names_only_;  // views without data (names_only)
  struct Replacement {
    std::vector<float> values;
    TensorView view;
  };
  std::vector<std::unique_ptr<Replacement>> replacements_;  // replace_values, stable addresses
};

}  // namespace qp
