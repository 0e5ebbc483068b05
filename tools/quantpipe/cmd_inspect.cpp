// quantpipe inspect: what a model directory or safetensors file holds —
// tensors, dtypes, shapes, schemes, sizes — and, for a quantpipe native
// directory, its metadata and per-tensor error table.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/json_read.h"
#include "core/log.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/registry.h"
#include "quantpipe/model.h"

namespace qp::cli {
namespace {
namespace fs = std::filesystem;

// The safetensors files to list one by one; empty for a directory whose
// weights are pytorch_model.bin (listed through WeightStore instead).
std::vector<fs::path> safetensors_files(const fs::path& path) {
  if (!fs::exists(path)) fail(path.string(), ": not found");
  if (!fs::is_directory(path)) return {path};
  if (fs::exists(path / "model.safetensors")) return {path / "model.safetensors"};
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The tensors of one file (safetensors) or one model directory (any weight
// format WeightStore reads), with the scheme names a native file records.
struct TensorListing {
  std::vector<const TensorView*> tensors;
  const TensorTable* table = nullptr;  // the architecture's, when known
  std::function<const TensorView*(const std::string&)> find;
  std::map<std::string, std::string> metadata;
};

TensorListing listing_of(const SafetensorsFile& file) {
  TensorListing l;
  for (const TensorView& t : file.tensors()) l.tensors.push_back(&t);
  l.find = [&file](const std::string& name) { return file.find(name); };
  l.metadata = file.metadata();
  return l;
}

TensorListing listing_of(const WeightStore& store) {
  TensorListing l;
  for (const std::string& name : store.names()) l.tensors.push_back(store.find(name));
  l.find = [&store](const std::string& name) { return store.find(name); };
  return l;
}

// One row per logical tensor: MLX triplets (.weight codes + .scales + .biases) fold into one.
// The tensor's role in its architecture's table: "attn_q", "unused" (a
// tensor the engine ignores), "-" (no table: an unknown architecture, a lone file).
std::string role_of(const TensorListing& file, const std::string& name) {
  if (!file.table) return "-";
  if (const TensorDecl* decl = file.table->declaring(name)) return std::string(role_info(decl->role).name);
  return file.table->ignored(name) ? "unused" : "undeclared";
}

void print_tensor_table(const TensorListing& file) {
  std::cout << "| tensor | role | stored as | shape | scheme | bytes |\n|---|---|---|---|---|--:|\n";
  int64_t total = 0;
  for (const TensorView* view : file.tensors) {
    const TensorView& t = *view;
    if (ends_with(t.name, ".scales") || ends_with(t.name, ".biases")) continue;
    const std::string module = ends_with(t.name, ".weight") ? t.name.substr(0, t.name.size() - 7) : t.name;
    const TensorView* scales = file.find(module + ".scales");
    const TensorView* biases = file.find(module + ".biases");
    int64_t bytes = static_cast<int64_t>(t.nbytes);
    std::string stored(dtype_name(t.dtype)), scheme = "-";
    const Shape& shape = t.shape;
    if (scales && t.dtype == DType::U32 && shape.size() == 2 && scales->shape.size() == 2) {
      bytes += static_cast<int64_t>(scales->nbytes + (biases ? biases->nbytes : 0));
      const auto meta = file.metadata.find("quantpipe.scheme." + module);
      scheme = meta != file.metadata.end() ? meta->second : "affine";
      stored = "U32 codes + " + std::string(dtype_name(scales->dtype)) + " scales/biases " +
               shape_string(scales->shape);
    }
    total += bytes;
    std::cout << "| " << t.name << " | " << role_of(file, t.name) << " | " << stored << " | "
              << shape_string(shape) << " | " << scheme << " | " << bytes << " |\n";
  }
  std::cout << "\n" << file.tensors.size() << " stored tensors, " << total << " bytes\n";
}

// The tensor table of a model directory of a known architecture; none for a
// lone file or an architecture quantpipe does not run (inspect still lists it).
std::optional<TensorTable> architecture_table(const fs::path& path) {
  if (!fs::is_directory(path) || !fs::exists(path / "config.json")) return std::nullopt;
  try {
    return declare_tensors(read_model_dir(path), WeightStore::open_dir(path));
  } catch (const Error& e) {
    log_warn("inspect: no tensor roles for ", path.string(), ": ", e.what());
    return std::nullopt;
  }
}

// A number of the error table, NaN when the file holds something else.
double number_or_nan(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : std::nan("");
}

std::string string_or_dash(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "-";
}

void print_native_metadata(const fs::path& dir) {
  if (!fs::exists(dir / "quantpipe.json")) return;
  const nlohmann::json meta = read_json_object_file(dir / "quantpipe.json");
  const nlohmann::json& version = meta.contains("format_version") ? meta["format_version"] : nlohmann::json();
  std::cout << "\n## quantpipe native format v" << version << "\n\n"
            << "tool: " << json_excerpt(meta.value("tool", nlohmann::json()), 400)
            << "\nsource: " << json_excerpt(meta.value("source", nlohmann::json()), 400)
            << "\nplan: " << json_excerpt(meta.value("plan", nlohmann::json()), 400)
            << "\nsizes: " << json_excerpt(meta.value("sizes", nlohmann::json()), 400)
            << "\ntimings: " << json_excerpt(meta.value("timings", nlohmann::json()), 400)
            << "\n\n## per-tensor error\n\n"
            << "| tensor | scheme | cosine | relative MSE | max abs | NaN/Inf |\n|---|---|--:|--:|--:|--:|\n";
  const auto tensors = meta.find("tensors");
  if (tensors == meta.end() || !tensors->is_array()) return;
  for (const auto& t : *tensors) {
    if (!t.is_object() || !t.contains("error") || !t["error"].is_object()) continue;
    const auto& e = t["error"];
    char row[256];
    std::snprintf(row, sizeof row, " | %.6f | %.3e | %.4g | %.0f |", number_or_nan(e, "cosine"),
                  number_or_nan(e, "relative_mse"), number_or_nan(e, "max_abs"), number_or_nan(e, "nan_inf"));
    std::cout << "| " << string_or_dash(t, "name") << " | " << string_or_dash(t, "scheme") << row << "\n";
  }
}

}  // namespace

Action configure_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("path", *path,
                 "Model directory (Hugging Face or quantpipe native), .safetensors file, or a hub id "
                 "org/name[@revision]")
      ->required();
  return [path] {
    *path = resolve_model_source(*path).string();  // a hub id → its snapshot in the HF cache
    const std::vector<fs::path> files = safetensors_files(*path);
    const std::optional<TensorTable> table = architecture_table(*path);
    for (const fs::path& file_path : files) {
      const SafetensorsFile file(file_path);
      std::cout << "# " << file_path.string() << "\n\n";
      if (!file.metadata().empty()) {
        std::cout << "metadata:";
        for (const auto& [key, value] : file.metadata())
          if (key.rfind("quantpipe.scheme.", 0) != 0) std::cout << " " << key << "=" << value;
        std::cout << "\n\n";
      }
      TensorListing listing = listing_of(file);
      listing.table = table ? &*table : nullptr;
      print_tensor_table(listing);
    }
    if (files.empty()) {  // pytorch_model.bin, or an error naming what is missing
      const WeightStore store = WeightStore::open_dir(*path);
      std::cout << "# " << *path << "\n\n";
      TensorListing listing = listing_of(store);
      listing.table = table ? &*table : nullptr;
      print_tensor_table(listing);
    }
    if (fs::is_directory(*path)) print_native_metadata(*path);
    return 0;
  };
}

}  // namespace qp::cli
