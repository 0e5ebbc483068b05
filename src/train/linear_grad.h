// A Linear layer y = x·Wᵀ + b over t rows, forward and backward.
#pragma once

#include "core/thread_pool.h"

namespace qp::train {

// y[t × n] = x[t × k]·w[n × k]ᵀ + b (b may be null).
void linear_forward(const float* x, int t, const float* w, const float* b, int n, int k, float* y,
                    ThreadPool& pool);

// From dy[t × n]: dx[t × k] = dy·w (added to dx when accumulate_dx, else
// written; dx null: not wanted), dw[n × k] += dyᵀ·x, db[n] += Σ_rows dy (db may be null).
void linear_backward(const float* dy, const float* x, int t, const float* w, int n, int k, float* dx,
                     bool accumulate_dx, float* dw, float* db, ThreadPool& pool);

}  // namespace qp::train
