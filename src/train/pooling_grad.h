// The gradients of what follows the encoder in an embedding model: pooling
// of each sequence's rows (mean or first token) and L2 normalisation.
#pragma once

#include <span>
#include <vector>

#include "quantpipe/types.h"

namespace qp::train {

// The forwards are the engine's own (models/pooling.h: pool_sequences,
// l2_normalize_rows); these are their gradients. Max and mean·√len pooling
// are refused (throws naming the mode): no model here trains with them.
// d_hidden[T × width] += the gradient of pooled.
void pool_backward(const float* d_pooled, std::span<const int32_t> seq_offsets, int width, PoolingMode mode,
                   float* d_hidden);

// Of y = x / max(‖x‖, 1e-12) per row (torch.nn.functional.normalize):
// dx = (dy − y·(y·dy)) / ‖x‖ (written).
void l2_normalize_backward(const float* dy, const float* x, const float* y, int rows, int width, float* dx);

}  // namespace qp::train
