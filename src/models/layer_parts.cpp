#include "models/layer_parts.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "core/profiler.h"

namespace qp {

LayerNormParams load_norm(const WeightStore& weights, const TensorDecl& decl, int width, float eps,
                          NormKind kind) {
  return {weights.load_f32(decl.weight(), {width}),
          decl.bias ? weights.load_f32(decl.bias_name(), {width}) : std::vector<float>(width, 0.0f), eps,
          kind};
}

void apply_norm(const LayerNormParams& norm, const float* x, const float* residual, float* out, int rows,
                int cols, ThreadPool& pool) {
  if (norm.kind == NormKind::LayerNorm) {
    kernels::add_layer_norm(x, residual, out, rows, cols, norm.gamma.data(), norm.beta.data(), norm.eps,
                            pool);
    return;
  }
  // NoNorm: (x + residual)·gamma + beta, in the order torch computes it.
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int64_t j = r * cols + c;
      const float sum = residual ? x[j] + residual[j] : x[j];
      out[j] = sum * norm.gamma[c] + norm.beta[c];
    }
}

void LinearNorm::forward(const float* x, const float* residual, float* out, int rows,
                         ThreadPool& pool) const {
  linear->forward(x, rows, out, pool);
  apply_norm(norm, out, residual, out, rows, linear->n(), pool);
}

TransformerLayer TransformerLayer::load(const WeightStore& weights, const TensorTable& table, int index,
                                        const LayerShape& shape) {
  const int h = shape.hidden, i = shape.intermediate;
  const auto module = [&](TensorRole role) -> const TensorDecl& { return table.require(role, index); };
  TransformerLayer layer;
  if (shape.fused_qkv)
    layer.attention.qkv =
        load_linear(weights, module(TensorRole::AttnQ).module, 3 * h, h, module(TensorRole::AttnQ).bias);
  else
    layer.attention.qkv =
        load_stacked_linear(weights,
                            {module(TensorRole::AttnQ).module, module(TensorRole::AttnK).module,
                             module(TensorRole::AttnV).module},
                            h, h);
  layer.attention.out =
      load_linear(weights, module(TensorRole::AttnOut).module, h, h, module(TensorRole::AttnOut).bias);
  if (const TensorDecl* norm = table.find(TensorRole::AttnNorm, index))
    layer.attn_norm = load_norm(weights, *norm, h, shape.eps);
  const int up_rows = shape.fused_gate_up ? 2 * i : i;
  layer.ffn.up =
      load_linear(weights, module(TensorRole::FfnUp).module, up_rows, h, module(TensorRole::FfnUp).bias);
  if (const TensorDecl* gate = table.find(TensorRole::FfnGate, index))
    layer.ffn.gate = load_linear(weights, gate->module, i, h, gate->bias);
  layer.ffn.down =
      load_linear(weights, module(TensorRole::FfnDown).module, h, i, module(TensorRole::FfnDown).bias);
  layer.ffn_norm = load_norm(weights, module(TensorRole::FfnNorm), h, shape.eps);
  return layer;
}

namespace {

void layer_norm(const LayerNormParams& norm, const float* x, const float* residual, float* out, int rows,
                int cols, ThreadPool& pool) {
  apply_norm(norm, x, residual, out, rows, cols, pool);
}

}  // namespace

void self_attention(const AttentionPart& part, const LayerShape& shape, const EncoderBatch& batch,
                    const float* x, float* out, ThreadPool& pool, TensorSink* sink, const std::string& name,
                    int index, const ScoreHook* hook, const QkTransform* qk) {
  const int t = batch.total_tokens(), h = shape.hidden, head_dim = shape.head_dim();
  emit(sink, name + "qkv_in", std::span<const float>(x, static_cast<size_t>(t) * h), h);  // calibration
  ActivationBuffer qkv(static_cast<size_t>(t) * 3 * h);
  {
    const profile::Scope scope(profile::Op::GemmQkv);
    part.qkv->forward(x, t, qkv.data(), pool);
  }
  if (qk) qk->apply({qkv.data(), qkv.data() + h, 3 * h, shape.heads, head_dim, index, &batch});
  emit(sink, name + "attn_qkv", qkv, 3 * h);
  ActivationBuffer context(static_cast<size_t>(t) * h);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim) * shape.score_scale_factor);
  const float *q = qkv.data(), *k = qkv.data() + h, *v = qkv.data() + 2 * h;
  if (hook && hook->band_half_width() >= 0) {
    kernels::local_attention(q, k, v, 3 * h, context.data(), h, batch.seq_offsets, shape.heads, head_dim,
                             scale, hook->band_half_width(), pool);
  } else {
    kernels::ScoreBias bias;
    const ScoreContext hook_context{qkv.data(), qkv.data() + h, 3 * h, head_dim, index, &batch};
    if (hook)
      bias = [&](int64_t seq, int head, int first_query, int query_count, float* scores) {
        hook->add_bias(hook_context, static_cast<int>(seq), head, first_query, query_count, scores);
      };
    kernels::attention(q, k, v, 3 * h, context.data(), h, batch.seq_offsets, shape.heads, head_dim, scale,
                       pool, bias);
  }
  emit(sink, name + "attn_context", context, h);
  const profile::Scope scope(profile::Op::GemmAttnOut);
  part.out->forward(context.data(), t, out, pool);
}

namespace {

// Tokens of one block of the token-blocked FFN: at most 64 (the up
// projection's block, 64 × FFN width floats, stays in L2), at least 32 (an
// AMX call's height), and small enough that every thread gets about four.
int ffn_block_rows(int t, int threads) {
  const int quarter = (t + 4 * threads - 1) / (4 * threads);
  return std::clamp((quarter + 31) / 32 * 32, 32, 64);
}

// up → GELU → down one block of tokens at a time, each block on one thread:
// the block's up projection (and, quantized, its int8 copy) never leaves that
// core's cache, and threads split tokens instead of each GEMM's panels. The
// GEMMs inside run serially (a parallel_for from a running job does).
void feed_forward_blocked(const FfnPart& part, const LayerShape& shape, const float* x, int t, float* out,
                          ThreadPool& pool) {
  const int h = shape.hidden, i = shape.intermediate;
  const int rows = ffn_block_rows(t, pool.size());
  const int64_t blocks = (t + rows - 1) / rows;
  pool.parallel_for(blocks, [&](int64_t begin, int64_t end) {
    ActivationBuffer up(static_cast<size_t>(rows) * i);
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r0 = b * rows;
      const int m = static_cast<int>(std::min<int64_t>(rows, t - r0));
      {
        const profile::Scope up_scope(profile::Op::GemmFfnUp);
        part.up->forward(x + r0 * h, m, up.data(), pool, kernels::Epilogue::Gelu);
      }
      const profile::Scope down_scope(profile::Op::GemmFfnDown);
      part.down->forward(up.data(), m, out + r0 * h, pool);
    }
  });
}

}  // namespace

void feed_forward(const FfnPart& part, const LayerShape& shape, const float* x, int t, float* out,
                  ThreadPool& pool, TensorSink* sink, const std::string& name) {
  // A sink (dumps, calibration) sees the whole up projection, and fewer blocks
  // than threads would leave threads idle: those run whole GEMMs instead.
  const bool blockable = !sink && !shape.fused_gate_up && !part.gate;
  if (blockable && (t + ffn_block_rows(t, pool.size()) - 1) / ffn_block_rows(t, pool.size()) >= pool.size())
    return feed_forward_blocked(part, shape, x, t, out, pool);
  emit(sink, name + "ffn_in", std::span<const float>(x, static_cast<size_t>(t) * shape.hidden),
       shape.hidden);  // calibration
  ActivationBuffer up(static_cast<size_t>(t) * shape.intermediate);
  std::optional<profile::Scope> scope(std::in_place, profile::Op::GemmFfnUp);
  if (shape.fused_gate_up) {
    const size_t i = static_cast<size_t>(shape.intermediate);
    ActivationBuffer both(up.size() * 2);
    part.up->forward(x, t, both.data(), pool);
    for (size_t r = 0; r < static_cast<size_t>(t); ++r) std::copy_n(&both[r * 2 * i], i, &up[r * i]);
    kernels::gelu(up.data(), static_cast<int64_t>(up.size()), pool);
    for (size_t r = 0; r < static_cast<size_t>(t); ++r)
      for (size_t j = 0; j < i; ++j) up[r * i + j] *= both[r * 2 * i + i + j];
  } else if (part.gate) {
    ActivationBuffer gate(up.size());
    part.gate->forward(x, t, gate.data(), pool, kernels::Epilogue::Gelu);
    part.up->forward(x, t, up.data(), pool);
    for (size_t j = 0; j < up.size(); ++j) up[j] *= gate[j];
  } else {
    part.up->forward(x, t, up.data(), pool, kernels::Epilogue::Gelu);
  }
  emit(sink, name + "ffn_up", up, shape.intermediate);
  scope.emplace(profile::Op::GemmFfnDown);
  part.down->forward(up.data(), t, out, pool);
  emit(sink, name + "ffn_down", std::span<const float>(out, static_cast<size_t>(t) * shape.hidden),
       shape.hidden);
}

void TransformerLayer::forward(const LayerShape& shape, const EncoderBatch& batch, std::vector<float>& hidden,
                               ThreadPool& pool, TensorSink* sink, int index, const ScoreHook* hook,
                               const QkTransform* qk) const {
  const int t = batch.total_tokens(), h = shape.hidden;
  const std::string name = "layer." + std::to_string(index) + ".";
  ActivationBuffer projected(static_cast<size_t>(t) * h);
  if (shape.placement == NormPlacement::Post) {
    self_attention(attention, shape, batch, hidden.data(), projected.data(), pool, sink, name, index, hook,
                   qk);
    emit(sink, name + "attn_out", projected, h);
    layer_norm(attn_norm, projected.data(), hidden.data(), hidden.data(), t, h, pool);
    emit(sink, name + "attn_norm", hidden, h);
    feed_forward(ffn, shape, hidden.data(), t, projected.data(), pool, sink, name);
    layer_norm(ffn_norm, projected.data(), hidden.data(), hidden.data(), t, h, pool);
  } else {
    std::vector<float> normed(hidden.size());
    if (attn_norm.gamma.empty())
      normed = hidden;
    else
      layer_norm(attn_norm, hidden.data(), nullptr, normed.data(), t, h, pool);
    emit(sink, name + "attn_norm", normed, h);
    self_attention(attention, shape, batch, normed.data(), projected.data(), pool, sink, name, index, hook,
                   qk);
    emit(sink, name + "attn_out", projected, h);
    for (size_t j = 0; j < hidden.size(); ++j) hidden[j] += projected[j];
    layer_norm(ffn_norm, hidden.data(), nullptr, normed.data(), t, h, pool);
    feed_forward(ffn, shape, normed.data(), t, projected.data(), pool, sink, name);
    for (size_t j = 0; j < hidden.size(); ++j) hidden[j] += projected[j];
  }
  emit(sink, name + "out", hidden, h);
}

void declare_layers(TensorTable& table, const std::string& prefix, const LayerModuleNames& names, int count,
                    const LayerShape& shape, int first_index) {
  using R = TensorRole;
  const int64_t h = shape.hidden, i = shape.intermediate;
  const struct {
    const std::string& name;
    TensorRole role;
    Shape shape;
  } modules[] = {{names.q, R::AttnQ, {h, h}},         {names.k, R::AttnK, {h, h}},
                 {names.v, R::AttnV, {h, h}},         {names.out, R::AttnOut, {h, h}},
                 {names.attn_norm, R::AttnNorm, {h}}, {names.up, R::FfnUp, {i, h}},
                 {names.down, R::FfnDown, {h, i}},    {names.ffn_norm, R::FfnNorm, {h}}};
  for (int l = 0; l < count; ++l)
    for (const auto& m : modules)
      table.add(cat(prefix, names.layer_path, l, ".", m.name), m.role, m.shape, first_index + l);
}

std::vector<TransformerLayer> load_layers(const WeightStore& weights, const TensorTable& table, int count,
                                          const LayerShape& shape) {
  std::vector<TransformerLayer> layers;
  for (int i = 0; i < count; ++i) layers.push_back(TransformerLayer::load(weights, table, i, shape));
  return layers;
}

void run_layers(const std::vector<TransformerLayer>& layers, const LayerShape& shape,
                const EncoderBatch& batch, std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink,
                const std::function<const ScoreHook*(int)>& hook_for,
                const std::function<const QkTransform*(int)>& qk_for) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const int index = static_cast<int>(i);
    layers[i].forward(shape, batch, hidden, pool, sink, index, hook_for ? hook_for(index) : nullptr,
                      qk_for ? qk_for(index) : nullptr);
  }
}

void emit(TensorSink* sink, const std::string& name, std::span<const float> data, int64_t cols) {
  if (sink) sink->on_tensor(name, data.data(), static_cast<int64_t>(data.size()) / cols, cols);
}

}  // namespace qp
