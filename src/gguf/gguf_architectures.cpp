#include "gguf/gguf_architectures.h"

#include <array>

namespace qp {
namespace {

using R = TensorRole;
using K = std::string_view;

constexpr std::array<GgufRoleName, 15> kBertNames = {{
    {R::WordEmbeddings, "token_embd"},
    {R::PositionEmbeddings, "position_embd"},
    {R::TokenTypeEmbeddings, "token_types"},
    {R::EmbeddingNorm, "token_embd_norm"},
    {R::AttnQ, "attn_q"},
    {R::AttnK, "attn_k"},
    {R::AttnV, "attn_v"},
    {R::AttnOut, "attn_output"},
    {R::AttnNorm, "attn_output_norm"},
    {R::FfnUp, "ffn_up"},
    {R::FfnDown, "ffn_down"},
    {R::FfnNorm, "layer_output_norm"},
    {R::Pooler, "cls"},
    {R::HeadDense, "cls"},
    {R::HeadOut, "cls.output"},
}};

constexpr std::array<GgufRoleName, 12> kModernBertNames = {{
    {R::WordEmbeddings, "token_embd"},
    {R::EmbeddingNorm, "token_embd_norm"},
    {R::AttnNorm, "attn_norm"},
    {R::AttnQ, "attn_qkv"},  // ModernBERT's fused Wqkv sits under the attn_q role
    {R::AttnOut, "attn_output"},
    {R::FfnNorm, "ffn_norm"},
    {R::FfnUp, "ffn_up"},  // fused gate + up, as llama.cpp's GEGLU reads it
    {R::FfnDown, "ffn_down"},
    {R::FinalNorm, "output_norm"},
    {R::HeadDense, "cls"},
    {R::HeadNorm, "cls.norm"},
    {R::HeadOut, "cls.output"},
}};

constexpr K kHidden[] = {"hidden_size"};
constexpr K kIntermediate[] = {"intermediate_size"};
constexpr K kLayers[] = {"num_hidden_layers"};
constexpr K kHeads[] = {"num_attention_heads"};
constexpr K kEps[] = {"layer_norm_eps"};
constexpr K kDistilHidden[] = {"dim"};
constexpr K kDistilIntermediate[] = {"hidden_dim"};
constexpr K kDistilLayers[] = {"n_layers"};
constexpr K kDistilHeads[] = {"n_heads"};
constexpr K kNoEps[] = {"layer_norm_eps"};  // DistilBERT's is fixed at 1e-12
constexpr K kModernEps[] = {"norm_eps"};

const GgufArchitecture kArchitectures[] = {
    {"bert", "bert", kHidden, kIntermediate, kLayers, kHeads, kEps, 1e-12f, false, GgufHead::PoolerThenOut,
     kBertNames},
    {"roberta", "bert", kHidden, kIntermediate, kLayers, kHeads, kEps, 1e-5f, true, GgufHead::DenseThenOut,
     kBertNames},
    {"xlm-roberta", "bert", kHidden, kIntermediate, kLayers, kHeads, kEps, 1e-5f, true,
     GgufHead::DenseThenOut, kBertNames},
    {"distilbert", "bert", kDistilHidden, kDistilIntermediate, kDistilLayers, kDistilHeads, kNoEps, 1e-12f,
     false, GgufHead::None, kBertNames},
    {"modernbert", "modern-bert", kHidden, kIntermediate, kLayers, kHeads, kModernEps, 1e-5f, false,
     GgufHead::DenseThenOut, kModernBertNames},
};

}  // namespace

const GgufArchitecture* find_gguf_architecture(std::string_view model_type) {
  for (const GgufArchitecture& a : kArchitectures)
    if (a.model_type == model_type) return &a;
  return nullptr;
}

std::string gguf_model_types() {
  std::string out;
  for (const GgufArchitecture& a : kArchitectures)
    out += (out.empty() ? "" : ", ") + std::string(a.model_type);
  return out;
}

std::optional<std::string> gguf_tensor_name(const GgufArchitecture& arch, TensorRole role, int layer) {
  for (const GgufRoleName& n : arch.names)
    if (n.role == role)
      return layer >= 0 ? "blk." + std::to_string(layer) + "." + std::string(n.name) : std::string(n.name);
  return std::nullopt;
}

}  // namespace qp
