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

constexpr K kBertKeys[] = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"};
constexpr K kDistilKeys[] = {"dim", "hidden_dim", "n_layers", "n_heads"};

const GgufArchitecture kArchitectures[] = {
    // model_type, arch, hidden, intermediate, layers, heads, eps key and default, positions, head, names
    {"bert", "bert", kBertKeys[0], kBertKeys[1], kBertKeys[2], kBertKeys[3], "layer_norm_eps", 1e-12f, false,
     GgufHead::PoolerThenOut, kBertNames},
    {"roberta", "bert", kBertKeys[0], kBertKeys[1], kBertKeys[2], kBertKeys[3], "layer_norm_eps", 1e-5f, true,
     GgufHead::DenseThenOut, kBertNames},
    {"xlm-roberta", "bert", kBertKeys[0], kBertKeys[1], kBertKeys[2], kBertKeys[3], "layer_norm_eps", 1e-5f,
     true, GgufHead::DenseThenOut, kBertNames},
    // DistilBERT's eps is fixed at 1e-12 (no config key)
    {"distilbert", "bert", kDistilKeys[0], kDistilKeys[1], kDistilKeys[2], kDistilKeys[3], "layer_norm_eps",
     1e-12f, false, GgufHead::None, kBertNames},
    {"modernbert", "modern-bert", kBertKeys[0], kBertKeys[1], kBertKeys[2], kBertKeys[3], "norm_eps", 1e-5f,
     false, GgufHead::DenseThenOut, kModernBertNames},
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
