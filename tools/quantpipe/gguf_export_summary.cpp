#include "gguf_export_summary.h"

#include <iomanip>
#include <iostream>
#include <map>

#include "core/error.h"
#include "core/log.h"

namespace qp::cli {

std::optional<quant::GgmlType> parse_gguf_type(const std::string& option, const std::string& text) {
  if (text == "auto") return std::nullopt;
  const quant::GgmlTypeInfo* info = quant::find_ggml_type(text);
  if (info == nullptr || info->quantize == nullptr) {
    std::string names;
    for (const quant::GgmlTypeInfo& t : quant::ggml_types())
      if (t.quantize != nullptr) names += cat(" ", t.name);
    fail(option, " ", text, ": not a GGUF type quantpipe writes (auto", names, ")");
  }
  return info->type;
}

void export_gguf_with_summary(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                              const GgufExportOptions& options, bool force, bool list_tensors) {
  if (std::filesystem::exists(out) && !force) fail(out.string(), ": exists; pass --force to replace it");
  if (out.has_parent_path() && !std::filesystem::exists(out.parent_path()))
    fail(out.string(), ": directory ", out.parent_path().string(), " does not exist");
  const GgufExportReport report =
      export_gguf(model_dir, out, options, [](size_t done, size_t total, const std::string& t) {
        if (!t.empty()) log_debug("[gguf] ", done + 1, "/", total, " ", t);
      });
  std::map<std::string, std::pair<int, int64_t>> by_kind;  // "Q4_0, codes carried" → tensors, bytes
  for (const GgufExportedTensor& t : report.tensors) {
    auto& [count, bytes] = by_kind[cat(quant::ggml_type_info(t.type).name, ", ", gguf_origin_name(t.origin))];
    ++count;
    bytes += t.bytes;
    if (!t.note.empty()) log_info(t.gguf_name, ": ", t.note);
  }
  if (list_tensors) {
    std::cout << "| GGUF tensor | from | type | how |\n|---|---|---|---|\n";
    for (const GgufExportedTensor& t : report.tensors)
      std::cout << "| " << t.gguf_name << " | " << t.source_name << " | "
                << quant::ggml_type_info(t.type).name << " | " << gguf_origin_name(t.origin)
                << (t.note.empty() ? std::string() : cat(" (", t.note, ")")) << " |\n";
  }
  std::cout << "wrote " << out.string() << " (GGUF v3, llama.cpp architecture " << report.architecture
            << ", pooling " << report.pooling << ", " << std::fixed << std::setprecision(2)
            << static_cast<double>(report.file_bytes) / (1024.0 * 1024.0) << " MiB)\n";
  for (const auto& [kind, v] : by_kind)
    std::cout << "  " << std::left << std::setw(36) << kind << std::right << std::setw(4) << v.first
              << " tensors " << std::setw(10) << std::setprecision(2)
              << static_cast<double>(v.second) / (1024.0 * 1024.0) << " MiB\n";
  for (const std::string& note : report.notes) std::cout << "  note: " << note << "\n";
}

}  // namespace qp::cli
