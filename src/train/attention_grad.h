// Multi-head self-attention over a packed batch, forward and backward. The
// batch has no padding (sequences concatenated, seq_offsets as in
// kernels.h), so no query ever sees a padding key: the packing is the
// attention mask, equal to Hugging Face's additive −∞ mask on a padded batch
// (tests/unit/train_layer_torch_test.cpp checks it against PyTorch on one).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"

namespace qp::train {

struct AttentionShape {
  int heads = 0;
  int head_dim = 0;
  float scale = 0.0f;  // 1/√head_dim
  int hidden() const { return heads * head_dim; }
};

// Where (sequence, head)'s probabilities start in the probs buffer:
// heads·Σ len² in all, [len × len] per head.
std::vector<int64_t> probs_offsets(std::span<const int32_t> seq_offsets, int heads);

// qkv: [T × 3H] (queries, keys, values side by side; head h at columns h·d
// of each); context: [T × H]; probs: filled with softmax(q·kᵀ·scale) per
// (sequence, head) for the backward.
void attention_forward(const float* qkv, std::span<const int32_t> seq_offsets, const AttentionShape& shape,
                       float* context, std::vector<float>& probs, ThreadPool& pool);

// From d_context [T × H]: d_qkv [T × 3H] (written).
void attention_backward(const float* d_context, const float* qkv, const std::vector<float>& probs,
                        std::span<const int32_t> seq_offsets, const AttentionShape& shape, float* d_qkv,
                        ThreadPool& pool);

}  // namespace qp::train
