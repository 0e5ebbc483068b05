// Writes a model directory (quantpipe's native format, or plain Hugging Face)
// as one GGUF v3 file that llama.cpp loads: its architecture names and keys,
// tensor names, tokenizer and pooling / classification head (docs/GGUF.md).
//
// Quantized weights are carried over: when a ggml block type holds a tensor's
// codes exactly (q8 sym → Q8_0, q4 sym and ternary → Q4_0, q4 affine → Q4_1,
// ternary with one scale per 256 values → TQ2_0, …) the codes go in unchanged
// and only the scales are rounded to half, as every ggml block stores them.
// A type asked for that cannot hold them is quantized from the fp32 source
// with ggml's formulas; rows too short for the type fall back as llama.cpp's
// quantizer does (Q4_K → Q5_0, Q6_K → Q8_0, TQ → Q4_0, …).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quant/ggml_blocks.h"

namespace qp {

struct GgufExportOptions {
  // Type of the linear weights; nullopt: carry each quantized tensor into the
  // smallest block type that holds its codes exactly (Q8_0 from the source
  // when none does), and keep float tensors as they are.
  std::optional<quant::GgmlType> type;
  // fp32 weights to quantize from when the codes cannot be carried; empty:
  // the source named in quantpipe.json, else the dequantized weights.
  std::filesystem::path source;
  std::string name;  // general.name; empty: the directory's name
};

enum class GgufTensorOrigin {
  Carried,          // quantpipe's codes, unchanged
  FromSource,       // quantized from the fp32 source with ggml's formula
  FromDequantized,  // quantized from quantpipe's dequantized weights (no source at hand)
  Copied,           // float values as stored (F32 / F16 / BF16)
};

std::string_view gguf_origin_name(GgufTensorOrigin origin);

struct GgufExportedTensor {
  std::string gguf_name;
  std::string source_name;  // the Hugging Face tensor
  quant::GgmlType type;
  GgufTensorOrigin origin;
  std::string note;  // why a fallback type was taken, "" otherwise
  int64_t bytes = 0;
};

struct GgufExportReport {
  std::filesystem::path path;
  std::string architecture;  // llama.cpp's
  std::string pooling;       // "mean", "cls", "rank" or "none"
  std::vector<GgufExportedTensor> tensors;
  std::vector<std::string> notes;  // what llama.cpp will do differently, what was left out
  int64_t file_bytes = 0;
};

using GgufProgressFn = std::function<void(size_t done, size_t total, const std::string& tensor)>;

// Throws qp::Error naming the directory and the problem (an architecture
// llama.cpp does not run, no tokenizer, a type the rows cannot take, …);
// `out` is written atomically, so a failed export leaves any earlier file.
GgufExportReport export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                             const GgufExportOptions& options = {}, const GgufProgressFn& progress = {});

}  // namespace qp
