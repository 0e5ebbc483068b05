#include "models/tensor_table.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "io/safetensors.h"

namespace qp {
namespace {

using Q = RoleQuantization;
constexpr std::string_view kHead = "kept: classification head";
constexpr std::string_view kNorm = "kept: normalisation";
constexpr std::string_view kPositions = "kept: position / type embeddings";

// One row per role, in TensorRole order.
constexpr std::array<RoleInfo, 29> kRoles = {{
    {TensorRole::WordEmbeddings, "word_embeddings", Q::Embedding, "", false},
    {TensorRole::PositionEmbeddings, "position_embeddings", Q::Keep, kPositions, false},
    {TensorRole::TokenTypeEmbeddings, "token_type_embeddings", Q::Keep, kPositions, false},
    {TensorRole::RelativePositions, "rel_embeddings", Q::Keep, "kept: relative-position table", false},
    {TensorRole::EmbeddingProjection, "embed_proj", Q::Linear, "", false},
    {TensorRole::AttnQ, "attn_q", Q::Linear, "", false},
    {TensorRole::AttnK, "attn_k", Q::Linear, "", false},
    {TensorRole::AttnV, "attn_v", Q::Linear, "", false},
    {TensorRole::AttnOut, "attn_out", Q::Linear, "", false},
    {TensorRole::FfnUp, "ffn_up", Q::Linear, "", false},
    {TensorRole::FfnGate, "ffn_gate", Q::Linear, "", false},
    {TensorRole::FfnDown, "ffn_down", Q::Linear, "", false},
    {TensorRole::EmbeddingNorm, "embed_norm", Q::Keep, kNorm, true},
    {TensorRole::AttnNorm, "attn_norm", Q::Keep, kNorm, true},
    {TensorRole::FfnNorm, "ffn_norm", Q::Keep, kNorm, true},
    {TensorRole::RelativeNorm, "rel_norm", Q::Keep, kNorm, true},
    {TensorRole::FinalNorm, "final_norm", Q::Keep, kNorm, true},
    {TensorRole::Pooler, "pooler", Q::Keep, kHead, false},
    {TensorRole::HeadDense, "head_dense", Q::Keep, kHead, false},
    {TensorRole::HeadNorm, "head_norm", Q::Keep, kNorm, true},
    {TensorRole::HeadOut, "head", Q::Keep, kHead, false},
    {TensorRole::BottleneckIn, "bottleneck_in", Q::Linear, "", false},
    {TensorRole::BottleneckOut, "bottleneck_out", Q::Linear, "", false},
    {TensorRole::BottleneckNorm, "bottleneck_norm", Q::Keep, kNorm, true},
    {TensorRole::CrossAttnQ, "cross_attn_q", Q::Linear, "", false},
    {TensorRole::CrossAttnK, "cross_attn_k", Q::Linear, "", false},
    {TensorRole::CrossAttnV, "cross_attn_v", Q::Linear, "", false},
    {TensorRole::CrossAttnOut, "cross_attn_out", Q::Linear, "", false},
    {TensorRole::CrossAttnNorm, "cross_attn_norm", Q::Keep, kNorm, true},
}};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool shape_matches(const Shape& actual, const Shape& declared) {
  if (actual.size() != declared.size()) return false;
  for (size_t i = 0; i < actual.size(); ++i)
    if (declared[i] != kAnyDim && declared[i] != actual[i]) return false;
  return true;
}

std::string declared_shape(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += cat(i ? ", " : "", shape[i] == kAnyDim ? std::string("any") : std::to_string(shape[i]));
  return text + "]";
}

std::string listing(const std::vector<std::string>& items) {
  std::string text;
  const size_t shown = std::min<size_t>(items.size(), 12);
  for (size_t i = 0; i < shown; ++i) text += cat(i ? ", " : "", items[i]);
  if (items.size() > shown) text += cat(" and ", items.size() - shown, " more");
  return text;
}

}  // namespace

const RoleInfo& role_info(TensorRole role) {
  const RoleInfo& info = kRoles[static_cast<size_t>(role)];
  if (info.role != role) fail("internal: the role table is out of order");
  return info;
}

void TensorTable::add(std::string module, TensorRole role, Shape shape, int layer, bool bias, bool required) {
  // Tables are declared from config.json before any tensor is looked at: a
  // layer count of 2^30 would otherwise declare modules until memory runs out.
  if (modules.size() >= kMaxTensorDecls)
    fail("the config declares more than ", kMaxTensorDecls,
         " modules (a layer count far beyond any encoder's?); at ", module);
  modules.push_back({std::move(module), role, layer, std::move(shape), bias, required});
}

const TensorDecl* TensorTable::find(TensorRole role, int layer) const {
  for (const TensorDecl& d : modules)
    if (d.role == role && d.layer == layer) return &d;
  return nullptr;
}

const TensorDecl& TensorTable::require(TensorRole role, int layer) const {
  if (const TensorDecl* d = find(role, layer)) return *d;
  fail("internal: no ", role_info(role).name, " module declared", layer >= 0 ? cat(" in layer ", layer) : "");
}

const TensorDecl* TensorTable::declaring(const std::string& tensor) const {
  for (std::string_view suffix : {".weight", ".bias", ".scales", ".biases"}) {
    if (!ends_with(tensor, suffix)) continue;
    const std::string module = tensor.substr(0, tensor.size() - suffix.size());
    for (const TensorDecl& d : modules)
      if (d.module == module && (suffix != ".bias" || d.bias)) return &d;
  }
  return nullptr;
}

bool TensorTable::ignored(const std::string& tensor) const {
  return std::any_of(ignored_prefixes.begin(), ignored_prefixes.end(),
                     [&](const std::string& prefix) { return tensor.rfind(prefix, 0) == 0; });
}

bool TensorTable::present(const WeightStore& weights, TensorRole role, int layer) const {
  const TensorDecl* d = find(role, layer);
  return d && weights.find(d->weight()) != nullptr;
}

void check_tensors(const TensorTable& table, const WeightStore& weights, const std::string& architecture) {
  std::vector<std::string> missing, misshaped, unexpected;
  for (const TensorDecl& d : table.modules) {
    const TensorView* weight = weights.find(d.weight());
    if (!weight) {
      if (d.required) missing.push_back(d.weight());
      continue;
    }
    const bool quantized = weights.find(d.module + ".scales") != nullptr;
    if (!quantized && !shape_matches(weight->shape, d.shape))
      misshaped.push_back(
          cat(d.weight(), " ", shape_string(weight->shape), " (expected ", declared_shape(d.shape), ")"));
    if (!d.bias) continue;
    const TensorView* bias = weights.find(d.bias_name());
    if (!bias) {
      missing.push_back(d.bias_name());
    } else if (bias->shape.size() != 1 || (d.shape[0] != kAnyDim && bias->shape[0] != d.shape[0])) {
      misshaped.push_back(cat(d.bias_name(), " ", shape_string(bias->shape), " (expected [",
                              d.shape[0] == kAnyDim ? std::string("any") : std::to_string(d.shape[0]), "])"));
    }
  }
  for (const std::string& name : weights.names())
    if (!table.declaring(name) && !table.ignored(name)) unexpected.push_back(name);
  if (missing.empty() && misshaped.empty() && unexpected.empty()) return;
  std::string problems;
  if (!missing.empty()) problems += cat("; missing: ", listing(missing));
  if (!misshaped.empty()) problems += cat("; misshaped: ", listing(misshaped));
  if (!unexpected.empty()) problems += cat("; unexpected: ", listing(unexpected));
  fail(weights.dir().string(), ": the weights do not match a ", architecture, " model of this config.json",
       problems,
       " (a checkpoint of another architecture or size, or a config.json that does not belong to it)");
}

}  // namespace qp
