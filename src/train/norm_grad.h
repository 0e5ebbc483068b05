// LayerNorm over rows: y = (x − mean)·rstd·gamma + beta, rstd = 1/√(var + eps)
// (biased variance, as torch.nn.LayerNorm). The forward keeps each row's
// mean and rstd for the backward.
#pragma once

#include <vector>

#include "core/thread_pool.h"

namespace qp::train {

struct NormStats {
  std::vector<float> mean;  // [rows]
  std::vector<float> rstd;  // [rows]
};

void layer_norm_forward(const float* x, int rows, int cols, const float* gamma, const float* beta, float eps,
                        float* y, NormStats& stats, ThreadPool& pool);

// dx[rows × cols] = ∂L/∂x (written), dgamma, dbeta += their gradients.
void layer_norm_backward(const float* dy, const float* x, int rows, int cols, const float* gamma,
                         const NormStats& stats, float* dx, float* dgamma, float* dbeta, ThreadPool& pool);

}  // namespace qp::train
