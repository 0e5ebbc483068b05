// What follows the encoder in an embedding model, forward and backward:
// pooling of each sequence's rows (mean or first token) and L2 normalisation.
#pragma once

#include <span>
#include <vector>

#include "quantpipe/types.h"

namespace qp::train {

// pooled[S × width] from hidden[T × width]. Max and mean·√len pooling are
// refused (throws naming the mode): no model here trains with them.
void pool_forward(const float* hidden, std::span<const int32_t> seq_offsets, int width, PoolingMode mode,
                  float* pooled);
// d_hidden[T × width] += the gradient of pooled.
void pool_backward(const float* d_pooled, std::span<const int32_t> seq_offsets, int width, PoolingMode mode,
                   float* d_hidden);

// y = x / max(‖x‖, 1e-12) per row (torch.nn.functional.normalize).
void l2_normalize_forward(const float* x, int rows, int width, float* y);
// dx = (dy − y·(y·dy)) / ‖x‖ (written).
void l2_normalize_backward(const float* dy, const float* x, const float* y, int rows, int width, float* dx);

}  // namespace qp::train
