// quantpipe's public conversion API: a Hugging Face encoder directory → the
// native quantized directory (docs/FORMAT.md), checked on both ends by the
// same loader that runs models.
//
//   qp::QuantizeOptions options;
//   options.scheme = "q4_affine_g64";
//   qp::QuantizeResult r = qp::quantize("models/all-MiniLM-L6-v2", "minilm-q4", options);
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "quantpipe/error.h"

namespace qp {

struct QuantizeOptions {
  // Linear weights: q8_sym_ch, q8_affine_g64, q4_affine_g64, q4_sym_g32, q2_affine_g64,
  // ternary_g64, ... (`quantpipe convert --help` lists them).
  std::string scheme = "q4_affine_g64";
  std::string embedding = "q8_affine_g64";  // the word embeddings; "keep" leaves them as they are
  std::vector<std::string> keep;            // regexes of Hugging Face tensor names left unquantized
  std::vector<std::string> overrides;       // "REGEX=SCHEME", the last match wins
  bool force = false;                       // replace an existing output directory
  bool emit_fp16 = false;                   // also write the dequantized fp16 model to <out>/fp16/
  double target_size_mb = 0;                // recorded in quantpipe.json for the size gate; 0: none
};

struct QuantizeResult {
  std::string report_json;   // the quantpipe.json written with the model (plan, sizes, errors)
  int64_t source_bytes = 0;  // the weights as stored in the source
  int64_t stored_bytes = 0;  // the weights as stored in the output
  double seconds = 0;
};

// Throws qp::Error naming the file and the problem when the engine would
// refuse the directory (config, weights, tokenizer, heads).
void check_model_loads(const std::filesystem::path& dir);

// Converts source into out. The source is validated as strictly as
// Model::load does before anything is written, and the output must load
// before it replaces an earlier one; a failure leaves no partial output.
QuantizeResult quantize(const std::filesystem::path& source, const std::filesystem::path& out,
                        const QuantizeOptions& options = {});

}  // namespace qp
