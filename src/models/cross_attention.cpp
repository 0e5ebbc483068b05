#include "models/cross_attention.h"

#include <cmath>

#include "core/error.h"

namespace qp {

CrossAttentionPart CrossAttentionPart::load(const WeightStore& weights, const TensorTable& table, int index,
                                            const LayerShape& shape) {
  const int h = shape.hidden;
  const auto module = [&](TensorRole role) -> const TensorDecl& { return table.require(role, index); };
  CrossAttentionPart part;
  part.q = load_linear(weights, module(TensorRole::CrossAttnQ).module, h, h);
  part.kv = load_stacked_linear(
      weights, {module(TensorRole::CrossAttnK).module, module(TensorRole::CrossAttnV).module}, h, h);
  part.out = load_linear(weights, module(TensorRole::CrossAttnOut).module, h, h);
  part.norm = load_norm(weights, module(TensorRole::CrossAttnNorm), h, shape.eps);
  return part;
}

std::vector<float> CrossAttentionPart::project_memory(const float* memory, int t, ThreadPool& pool) const {
  std::vector<float> kv_rows(static_cast<size_t>(t) * kv->n());
  kv->forward(memory, t, kv_rows.data(), pool);
  return kv_rows;
}

void CrossAttentionPart::forward(const LayerShape& shape, const EncoderBatch& batch, const float* x,
                                 const std::vector<float>& memory_kv, float* out, ThreadPool& pool,
                                 TensorSink* sink, const std::string& name) const {
  const int t = batch.total_tokens(), h = shape.hidden, head_dim = shape.head_dim();
  if (memory_kv.size() != static_cast<size_t>(t) * 2 * h)
    fail("internal: cross-attention memory has ", memory_kv.size(), " values for ", t, " rows of ", 2 * h);
  std::vector<float> queries(static_cast<size_t>(t) * h), context(static_cast<size_t>(t) * h);
  q->forward(x, t, queries.data(), pool);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim) * shape.score_scale_factor);
  kernels::attention(queries.data(), h, memory_kv.data(), memory_kv.data() + h, 2 * h, context.data(), h,
                     batch.seq_offsets, shape.heads, head_dim, scale, pool);
  emit(sink, name + "cross_attn_context", context, h);
  this->out->forward(context.data(), t, out, pool);
}

void declare_cross_attention(TensorTable& table, const std::string& prefix, const std::string& layer_path,
                             const CrossAttentionNames& names, int count, const LayerShape& shape,
                             int first_index) {
  using R = TensorRole;
  const int64_t h = shape.hidden;
  const struct {
    const std::string& name;
    TensorRole role;
    Shape shape;
  } modules[] = {{names.q, R::CrossAttnQ, {h, h}},
                 {names.k, R::CrossAttnK, {h, h}},
                 {names.v, R::CrossAttnV, {h, h}},
                 {names.out, R::CrossAttnOut, {h, h}},
                 {names.norm, R::CrossAttnNorm, {h}}};
  for (int l = 0; l < count; ++l)
    for (const auto& m : modules)
      table.add(cat(prefix, layer_path, l, ".", m.name), m.role, m.shape, first_index + l);
}

}  // namespace qp
