// An architecture's tensors as data: every module (a Hugging Face module path
// whose "<path>.weight" and optional "<path>.bias" the checkpoint holds) with
// its role, layer, weight shape from the config, and whether it must be there.
// The loader checks checkpoints against it (missing, misshaped and unexpected
// tensors, by name), the architectures load by role, the quantization plan
// chooses schemes by role, and `inspect` shows the roles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace qp {

class WeightStore;

enum class TensorRole {
  WordEmbeddings,
  PositionEmbeddings,
  TokenTypeEmbeddings,
  RelativePositions,    // relative-position tables (DeBERTa rel_embeddings, MPNet's bias table)
  EmbeddingProjection,  // ELECTRA: embedding width → hidden
  AttnQ,
  AttnK,
  AttnV,
  AttnOut,
  FfnUp,
  FfnGate,
  FfnDown,
  EmbeddingNorm,   // after the embeddings
  AttnNorm,        // a layer's norm around attention
  FfnNorm,         // a layer's norm around the feed-forward part
  RelativeNorm,    // DeBERTa: on the relative-position table
  FinalNorm,       // after the last layer (pre-LN models)
  Pooler,          // the pooler / first dense layer of a classification head
  HeadDense,       // further dense layers of a head
  HeadNorm,        // a norm inside a head (ModernBERT: head.norm)
  HeadOut,         // the layer that gives the logits
  BottleneckIn,    // MobileBERT: hidden → the layer's narrower inner width
  BottleneckOut,   // MobileBERT: the inner width → hidden
  BottleneckNorm,  // the norm after a bottleneck projection
  // A decoder layer's attention over its encoder's output (cross_attention.h).
  CrossAttnQ,
  CrossAttnK,
  CrossAttnV,
  CrossAttnOut,
  CrossAttnNorm,
};

// What the quantization plan does with a role's weight by default.
enum class RoleQuantization { Linear, Embedding, Keep };

struct RoleInfo {
  TensorRole role;
  std::string_view name;  // "attn_q", shown by inspect and in the plan
  RoleQuantization quantization;
  std::string_view keep_reason;  // for Keep: why, as the plan shows it
  bool is_norm;                  // a normalisation's scale (MLX has no quantization entry for it)
};

const RoleInfo& role_info(TensorRole role);

inline constexpr int64_t kAnyDim = -1;  // a dimension the config does not fix (a head's labels)

struct TensorDecl {
  std::string module;  // "bert.encoder.layer.0.attention.self.query"
  TensorRole role;
  int layer = -1;  // -1: not part of a layer
  Shape shape;     // of <module>.weight; kAnyDim matches any size
  bool bias = true;
  bool required = true;

  std::string weight() const { return module + ".weight"; }
  std::string bias_name() const { return module + ".bias"; }
};

// Modules one table may declare: 48 layers of 16 are under 800; 2^30 layers would never end.
inline constexpr size_t kMaxTensorDecls = 65536;

struct TensorTable {
  std::vector<TensorDecl> modules;
  // Tensors a checkpoint may hold that the engine does not use (an MLM head,
  // position-id buffers), by name prefix: neither loaded nor reported.
  std::vector<std::string> ignored_prefixes;

  // Throws qp::Error past kMaxTensorDecls modules.
  void add(std::string module, TensorRole role, Shape shape, int layer = -1, bool bias = true,
           bool required = true);
  // The module of `role` (in `layer`), nullptr when not declared.
  const TensorDecl* find(TensorRole role, int layer = -1) const;
  // As find(); throws naming the role when the architecture has none.
  const TensorDecl& require(TensorRole role, int layer = -1) const;
  // The module declaring a tensor name (".weight", ".bias", or a quantized
  // weight's ".scales" / ".biases"); nullptr when none does.
  const TensorDecl* declaring(const std::string& tensor) const;
  bool ignored(const std::string& tensor) const;
  // True when the checkpoint holds the module's weight (optional modules).
  bool present(const WeightStore& weights, TensorRole role, int layer = -1) const;
};

// Checks a checkpoint against the table: every required module's weight (and
// bias) is there with its declared shape (quantized weights are checked when
// loaded), and every tensor is declared or ignored. Throws one error listing
// each missing, misshaped and unexpected tensor by name.
void check_tensors(const TensorTable& table, const WeightStore& weights, const std::string& architecture);

}  // namespace qp
