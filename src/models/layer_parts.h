// A transformer layer built from parts: self-attention (with an optional
// score hook that adds a bias to each sequence's attention scores, block of
// query rows by block: relative position bias, DeBERTa's c2p / p2c terms), a feed-forward part (plain or
// gated), and the placement of the two norms (post-LN as BERT, pre-LN).
// Architectures declare their tensors (tensor_table.h) and load a layer by
// role; none of them runs its own layer loop.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/uninitialized.h"
#include "kernels/kernels.h"
#include "models/encoder.h"
#include "models/tensor_table.h"
#include "models/weight_loader.h"

namespace qp {

// LayerNorm, or MobileBERT's NoNorm: x·gamma + beta elementwise, no
// statistics (normalization_type "no_norm"; the same weight and bias names).
enum class NormKind { LayerNorm, NoNorm };

struct LayerNormParams {
  std::vector<float> gamma;
  std::vector<float> beta;
  float eps = 1e-12f;
  NormKind kind = NormKind::LayerNorm;
};

// The norm module `decl` (weight and bias of width `width`).
LayerNormParams load_norm(const WeightStore& weights, const TensorDecl& decl, int width, float eps,
                          NormKind kind = NormKind::LayerNorm);

// out[r] = norm(x[r] + residual[r]), row by row (cols wide); residual may be
// null, out may alias x.
void apply_norm(const LayerNormParams& norm, const float* x, const float* residual, float* out, int rows,
                int cols, ThreadPool& pool);

// A Linear layer followed by a norm over its output plus a residual:
// out = norm(linear(x) + residual). BERT's attention and FFN outputs have this
// shape; MobileBERT builds its whole layer from it (bottleneck projections,
// attention output, stacked FFN outputs).
struct LinearNorm {
  LinearPtr linear;
  LayerNormParams norm;

  // x: [rows × linear.k]; residual (may be null) and out: [rows × linear.n]; out
  // must not alias x or residual (it holds linear(x) before the residual is added).
  void forward(const float* x, const float* residual, float* out, int rows, ThreadPool& pool) const;
};

// What a score hook sees: the batch's projected queries and keys (row stride
// `ld`; head h at columns h·head_dim) and the layer it runs in.
struct ScoreContext {
  const float* q = nullptr;
  const float* k = nullptr;
  int ld = 0;
  int head_dim = 0;
  int layer = 0;
  const EncoderBatch* batch = nullptr;
};

// Adds a bias to the scaled scores of one sequence and head before the
// softmax, a block of queries at a time: scores is [query_count × len], row r
// holding query first_query + r against every key 0..len−1 (attention passes
// blocks of up to 64 rows, so no len × len matrix is held). Called
// concurrently for different (seq, head): implementations must not mutate
// shared state.
class ScoreHook {
 public:
  virtual ~ScoreHook() = default;
  virtual void add_bias(const ScoreContext& context, int seq, int head, int first_query, int query_count,
                        float* scores) const = 0;
  // A hook that only masks keys farther than a band from each query returns
  // the band's half width: attention then runs the banded kernel, which never
  // computes the masked scores (O(n·w), kernels::local_attention), and
  // add_bias is not called. -1: a general hook, applied to every block.
  virtual int band_half_width() const { return -1; }
};

// What a q/k transform sees: the batch's projected queries and keys, in place
// (row stride `ld`; head h at columns h·head_dim), before the scores.
struct QkContext {
  float* q = nullptr;
  float* k = nullptr;
  int ld = 0;
  int heads = 0;
  int head_dim = 0;
  int layer = 0;
  const EncoderBatch* batch = nullptr;
};

// Transforms the projected queries and keys before attention (rotary
// position embeddings).
class QkTransform {
 public:
  virtual ~QkTransform() = default;
  virtual void apply(const QkContext& context) const = 0;
};

enum class NormPlacement { Post, Pre };
enum class Activation { Gelu };

struct LayerShape {
  int hidden = 0;
  int heads = 0;
  int intermediate = 0;
  float eps = 1e-12f;
  NormPlacement placement = NormPlacement::Post;
  // Softmax scale: 1/sqrt(head_dim · score_scale_factor) (DeBERTa: 1 + relative terms).
  float score_scale_factor = 1.0f;
  // One fused [3H × H] query/key/value module under the attn_q role (ModernBERT's Wqkv).
  bool fused_qkv = false;
  // One fused [2I × H] module under the ffn_up role whose first I outputs are
  // activated and multiply the last I (ModernBERT's Wi): a gated FFN.
  bool fused_gate_up = false;

  int head_dim() const { return hidden / heads; }
};

struct AttentionPart {
  LinearPtr qkv;  // [3H × H], query, key, value side by side
  LinearPtr out;  // [H × H]
};

struct FfnPart {
  LinearPtr up;    // [I × H]; [2I × H] when fused_gate_up (act(first half) · second half)
  LinearPtr gate;  // [I × H] when gated (act(gate) · up), else null
  LinearPtr down;  // [H × I]
};

struct TransformerLayer {
  AttentionPart attention;
  LayerNormParams attn_norm;  // empty (identity) when the table has no attn_norm for the layer
  FfnPart ffn;
  LayerNormParams ffn_norm;

  // Loads layer `index` by role: attn_q/k/v/out, attn_norm, ffn_up (ffn_gate), ffn_down, ffn_norm.
  static TransformerLayer load(const WeightStore& weights, const TensorTable& table, int index,
                               const LayerShape& shape);

  // Post-LN: h = norm(h + attn(h)); h = norm(h + ffn(h)). Pre-LN: h += attn(norm(h)); h += ffn(norm(h)).
  // Intermediates "layer.<index>.attn_qkv", "attn_context", "attn_out", "attn_norm", "ffn_up",
  // "ffn_down", "out" go to the sink.
  void forward(const LayerShape& shape, const EncoderBatch& batch, std::vector<float>& hidden,
               ThreadPool& pool, TensorSink* sink, int index, const ScoreHook* hook = nullptr,
               const QkTransform* qk = nullptr) const;
};

// The layer's two halves, for layers that put more between them (a
// decoder's cross-attention, decoder_layer.h). out = Attn(x) over the packed
// batch, through the score hook when there is one; intermediates go to the
// sink as "<name>attn_qkv", "<name>attn_context".
void self_attention(const AttentionPart& part, const LayerShape& shape, const EncoderBatch& batch,
                    const float* x, float* out, ThreadPool& pool, TensorSink* sink, const std::string& name,
                    int index, const ScoreHook* hook, const QkTransform* qk = nullptr);
// out = FFN(x) for t rows; intermediates "<name>ffn_up", "<name>ffn_down".
void feed_forward(const FfnPart& part, const LayerShape& shape, const float* x, int t, float* out,
                  ThreadPool& pool, TensorSink* sink, const std::string& name);

// How an architecture names one layer's modules, relative to
// "<prefix><layer_path><index>.": the only per-architecture knowledge a
// layer's tensor declarations need.
struct LayerModuleNames {
  std::string layer_path;  // "encoder.layer.", "transformer.layer."
  std::string q, k, v, out, attn_norm, up, down, ffn_norm;
};

// Declares layers 0..count-1 of `shape` (attn_q/k/v/out, attn_norm, ffn_up,
// ffn_down, ffn_norm, all with biases) under `prefix`, as table layers
// first_index.. (a second stack in the same table, an encoder-decoder's
// decoder, numbers its layers after the first's).
void declare_layers(TensorTable& table, const std::string& prefix, const LayerModuleNames& names, int count,
                    const LayerShape& shape, int first_index = 0);

// Loads layers 0..count-1.
std::vector<TransformerLayer> load_layers(const WeightStore& weights, const TensorTable& table, int count,
                                          const LayerShape& shape);

// Runs the layers in order; `hook_for(layer)` gives each layer's score hook and
// `qk_for(layer)` its q/k transform (either may return null).
void run_layers(const std::vector<TransformerLayer>& layers, const LayerShape& shape,
                const EncoderBatch& batch, std::vector<float>& hidden, ThreadPool& pool, TensorSink* sink,
                const std::function<const ScoreHook*(int)>& hook_for = {},
                const std::function<const QkTransform*(int)>& qk_for = {});

// Reports a named tensor to the sink when there is one.
void emit(TensorSink* sink, const std::string& name, std::span<const float> data, int64_t cols);

// Activation buffers: every element is written before it is read.
using ActivationBuffer = UninitializedVector<float>;

}  // namespace qp
