// Edits of a model directory for tests that need a broken source: config.json
// keys, tensors (values, dtype, presence) and raw file text.
#pragma once

#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace qp::test {

// Applies edit to <dir>/config.json (parsed), then writes it back.
inline void edit_config(const std::filesystem::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config;
  {
    std::ifstream in(dir / "config.json");
    config = nlohmann::json::parse(in);
  }
  edit(config);
  write_file_atomic(dir / "config.json", config.dump(2));
}

// One tensor of a model being rewritten; edit fields in place, or set keep = false to drop it.
struct EditableTensor {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<std::byte> bytes;
  bool keep = true;
};

// Rewrites <dir>/model.safetensors through edit (called once per tensor).
inline void edit_tensors(const std::filesystem::path& dir, const std::function<void(EditableTensor&)>& edit) {
  const std::filesystem::path file = dir / "model.safetensors";
  std::vector<EditableTensor> tensors;
  {
    const SafetensorsFile source(file);
    for (const TensorView& t : source.tensors())
      tensors.push_back({t.name, t.dtype, t.shape, std::vector<std::byte>(t.data, t.data + t.nbytes)});
  }
  std::vector<TensorToWrite> out;
  for (EditableTensor& t : tensors) {
    edit(t);
    if (t.keep) out.push_back({t.name, t.dtype, t.shape, std::span<const std::byte>(t.bytes)});
  }
  write_safetensors(file, out);
}

// Sets element `index` of the F32 tensor `name` to value.
inline void poison_tensor(const std::filesystem::path& dir, const std::string& name, float value,
                          size_t index = 5) {
  edit_tensors(dir, [&](EditableTensor& t) {
    if (t.name != name) return;
    if (t.dtype != DType::F32) throw std::runtime_error("poison_tensor: " + name + " is not F32");
    std::memcpy(t.bytes.data() + index * sizeof(float), &value, sizeof value);
  });
}

}  // namespace qp::test
