// Reads a GGUF encoder (quantpipe's own exports and what llama.cpp's
// converter writes) into quantpipe's native directory, so every command runs
// it. Quantized blocks become quantpipe codes without passing through fp32
// (Q8_0 → 8-bit codes, Q4_0 / Q4_1 → 4-bit, Q5_0 / Q5_1 → 5-bit, TQ1_0 / TQ2_0
// → ternary; the block's half d and m become the group's scale and bias), so
// the integer kernels run the file's own codes. Float tensors stay float.
//
// llama.cpp's "bert" architecture covers BERT, RoBERTa and XLM-R (positions
// already start at 0 in the file), so every such file becomes a BERT
// directory; the RANK head (cls → tanh → cls.output) becomes BERT's pooler and
// classifier, MEAN / CLS pooling a sentence-transformers Pooling module.
// The tokenizer comes from tokenizer.huggingface.json when the file has it,
// else a WordPiece vocab.txt is rebuilt from tokenizer.ggml.tokens.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qp {

struct GgufImportReport {
  std::filesystem::path out;
  std::string architecture;  // the GGUF's
  std::string pooling;       // "mean", "cls", "rank", "none"
  std::string tokenizer;     // where the tokenizer came from
  int carried = 0;           // tensors whose codes were taken over
  int floats = 0;            // tensors stored as float
  std::vector<std::string> notes;
};

// Writes `out` atomically (StagingDir: an existing directory is replaced only
// with `replace`). Throws qp::Error naming the file and the problem for
// architectures, tensor types or tokenizers it cannot take.
GgufImportReport import_gguf(const std::filesystem::path& gguf, const std::filesystem::path& out,
                             bool replace);

// The native directory for a .gguf path, imported once into
// $XDG_CACHE_HOME/quantpipe/gguf (else ~/.cache/…), keyed by the file's path,
// size and modification time, and reused while those stay the same.
std::filesystem::path cached_gguf_import(const std::filesystem::path& gguf);

}  // namespace qp
