// llama.cpp's names for quantpipe's architectures, as data: which GGUF
// architecture a model_type becomes, the config.json keys of each
// hyper-parameter, and the GGUF tensor name of each tensor role (read from
// llama.cpp's convert_hf_to_gguf.py / gguf-py tensor_mapping.py and its loader,
// src/llama-model.cpp; see docs/GGUF.md). Architectures llama.cpp cannot run
// (ELECTRA, MPNet, DeBERTa-v2, MobileBERT, BART) have no entry.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "models/tensor_table.h"

namespace qp {

struct GgufRoleName {
  TensorRole role;
  std::string_view name;  // "attn_q" (in a layer: "blk.<l>.attn_q"), "token_embd"
};

// How the classification head maps onto llama.cpp's RANK pooling, which
// computes cls.output(act(cls(h))) with act = tanh (gelu for ModernBERT).
enum class GgufHead {
  PoolerThenOut,  // BERT: pooler.dense → tanh → classifier (the pooler becomes "cls")
  DenseThenOut,   // RoBERTa / ModernBERT: the head's own dense → act → out
  None,           // no head llama.cpp computes the same way (DistilBERT's ReLU)
};

struct GgufArchitecture {
  std::string_view model_type;  // config.json model_type
  std::string_view arch;        // general.architecture
  // config.json keys of the hyper-parameters (DistilBERT names them differently)
  std::string_view hidden, intermediate, layers, heads, eps;
  float default_eps;
  // RoBERTa numbers positions from pad_token_id + 1: the first rows go.
  bool positions_after_padding;
  GgufHead head;
  std::span<const GgufRoleName> names;
};

// nullptr for a model_type llama.cpp has no architecture for.
const GgufArchitecture* find_gguf_architecture(std::string_view model_type);
// "bert, distilbert, …", for error messages.
std::string gguf_model_types();

// The GGUF name of `role` ("blk.3.attn_q"); nullopt when the role has none.
std::optional<std::string> gguf_tensor_name(const GgufArchitecture& arch, TensorRole role, int layer);

}  // namespace qp
