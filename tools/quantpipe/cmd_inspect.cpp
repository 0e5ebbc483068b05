// quantpipe inspect: what a model directory or safetensors file holds —
// tensors, dtypes, shapes, schemes, sizes — and, for a quantpipe native
// directory, its metadata and per-tensor error table.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "io/safetensors.h"

namespace qp::cli {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> safetensors_files(const fs::path& path) {
  if (!fs::exists(path)) fail(path.string(), ": not found");
  if (!fs::is_directory(path)) return {path};
  if (fs::exists(path / "model.safetensors")) return {path / "model.safetensors"};
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail(path.string(), ": no .safetensors files");
  return files;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One row per logical tensor: MLX triplets (.weight codes + .scales + .biases) fold into one.
void print_tensor_table(const SafetensorsFile& file) {
  std::cout << "| tensor | stored as | shape | scheme | bytes |\n|---|---|---|---|--:|\n";
  int64_t total = 0;
  for (const TensorView& t : file.tensors()) {
    if (ends_with(t.name, ".scales") || ends_with(t.name, ".biases")) continue;
    const std::string module = ends_with(t.name, ".weight") ? t.name.substr(0, t.name.size() - 7) : t.name;
    const TensorView* scales = file.find(module + ".scales");
    const TensorView* biases = file.find(module + ".biases");
    int64_t bytes = static_cast<int64_t>(t.nbytes);
    std::string stored(dtype_name(t.dtype)), scheme = "-";
    const Shape& shape = t.shape;
    if (scales && t.dtype == DType::U32 && shape.size() == 2 && scales->shape.size() == 2) {
      bytes += static_cast<int64_t>(scales->nbytes + (biases ? biases->nbytes : 0));
      const auto meta = file.metadata().find("quantpipe.scheme." + module);
      scheme = meta != file.metadata().end() ? meta->second : "affine";
      stored = "U32 codes + " + std::string(dtype_name(scales->dtype)) + " scales/biases " +
               shape_string(scales->shape);
    }
    total += bytes;
    std::cout << "| " << t.name << " | " << stored << " | " << shape_string(shape) << " | " << scheme << " | "
              << bytes << " |\n";
  }
  std::cout << "\n" << file.tensors().size() << " stored tensors, " << total << " bytes\n";
}

void print_native_metadata(const fs::path& dir) {
  std::ifstream in(dir / "quantpipe.json");
  if (!in) return;
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded()) fail((dir / "quantpipe.json").string(), ": invalid JSON");
  const int version = meta.value("format_version", 0);
  std::cout << "\n## quantpipe native format v" << version << "\n\n"
            << "tool: " << meta["tool"].dump() << "\nsource fingerprint: " << meta["source"]["fingerprint"]
            << "\nplan: " << meta["plan"].dump() << "\nsizes: " << meta["sizes"].dump()
            << "\ntimings: " << meta["timings"].dump() << "\n\n## per-tensor error\n\n"
            << "| tensor | scheme | cosine | relative MSE | max abs | NaN/Inf |\n|---|---|--:|--:|--:|--:|\n";
  for (const auto& t : meta["tensors"]) {
    if (!t.contains("error")) continue;
    const auto& e = t["error"];
    char row[256];
    std::snprintf(row, sizeof row, " | %.6f | %.3e | %.4g | %lld |", e["cosine"].get<double>(),
                  e["relative_mse"].get<double>(), e["max_abs"].get<double>(), e["nan_inf"].get<long long>());
    std::cout << "| " << t["name"].get<std::string>() << " | " << t["scheme"].get<std::string>() << row
              << "\n";
  }
}

}  // namespace

Action configure_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("path", *path, "Model directory (Hugging Face or quantpipe native) or .safetensors file")
      ->required();
  return [path] {
    for (const fs::path& file_path : safetensors_files(*path)) {
      const SafetensorsFile file(file_path);
      std::cout << "# " << file_path.string() << "\n\n";
      if (!file.metadata().empty()) {
        std::cout << "metadata:";
        for (const auto& [key, value] : file.metadata())
          if (key.rfind("quantpipe.scheme.", 0) != 0) std::cout << " " << key << "=" << value;
        std::cout << "\n\n";
      }
      print_tensor_table(file);
    }
    if (fs::is_directory(*path)) print_native_metadata(*path);
    return 0;
  };
}

}  // namespace qp::cli
