// AdamW (Loshchilov & Hutter; torch.optim.AdamW's arithmetic) with global
// gradient-norm clipping (torch.nn.utils.clip_grad_norm_) and the linear
// warm-up then linear decay schedule of Hugging Face's
// get_linear_schedule_with_warmup. tests/golden/train/make_adamw_golden.py
// gives PyTorch's values for the same steps.
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "train/parameters.h"

namespace qp::train {

struct AdamWOptions {
  float lr = 5e-5f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;  // not applied to parameters with decay == false (biases, norms)
  float max_grad_norm = 1.0f;  // 0: no clipping
  int warmup_steps = 0;
  int total_steps = 0;  // 0: no decay after the warm-up
};

class AdamW {
 public:
  AdamW(ParameterSet& parameters, const AdamWOptions& options);

  // The learning rate of optimizer step `step` (0-based).
  float learning_rate(int step) const;
  // Clips the gradients, updates every trainable parameter and returns the
  // gradient norm before clipping. Gradients are left as clipped.
  float step(ThreadPool& pool);
  int steps_taken() const { return steps_; }

 private:
  ParameterSet& parameters_;
  AdamWOptions options_;
  std::vector<std::vector<float>> m_, v_;  // per parameter, in ParameterSet order
  int steps_ = 0;
};

}  // namespace qp::train
