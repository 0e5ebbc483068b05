#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace qp::train {

AdamW::AdamW(ParameterSet& parameters, const AdamWOptions& options)
    : parameters_(parameters), options_(options) {
  if (!(options.lr > 0.0f)) fail("[train] learning rate ", options.lr, ": expected a positive number");
  if (options.warmup_steps < 0 || options.total_steps < 0)
    fail("[train] warm-up and total steps must be ≥ 0");
  for (const auto& p : parameters_.all()) {
    m_.emplace_back(p->value.size(), 0.0f);
    v_.emplace_back(p->value.size(), 0.0f);
  }
}

float AdamW::learning_rate(int step) const {
  const int warmup = options_.warmup_steps, total = options_.total_steps;
  if (step < warmup) return options_.lr * static_cast<float>(step) / static_cast<float>(warmup);
  if (total <= 0) return options_.lr;
  const float left = static_cast<float>(total - step) / static_cast<float>(std::max(1, total - warmup));
  return options_.lr * std::max(0.0f, left);
}

float AdamW::step(ThreadPool& pool) {
  auto& all = parameters_.all();
  if (all.size() != m_.size()) fail("[train] parameters were added after the optimizer was made");
  double sq = 0.0;
  for (const auto& p : all)
    if (p->trainable)
      for (float g : p->grad) sq += static_cast<double>(g) * g;
  const float norm = static_cast<float>(std::sqrt(sq));
  float clip = 1.0f;
  if (options_.max_grad_norm > 0.0f) {
    const float coef = options_.max_grad_norm / (norm + 1e-6f);
    if (coef < 1.0f) clip = coef;
  }
  const float lr = learning_rate(steps_);
  ++steps_;
  const double correction1 = 1.0 - std::pow(static_cast<double>(options_.beta1), steps_);
  const double correction2 = 1.0 - std::pow(static_cast<double>(options_.beta2), steps_);
  const float step_size = static_cast<float>(lr / correction1);
  const float sqrt_correction2 = static_cast<float>(std::sqrt(correction2));
  const float b1 = options_.beta1, b2 = options_.beta2;
  for (size_t index = 0; index < all.size(); ++index) {
    Parameter& p = *all[index];
    if (!p.trainable) continue;
    float* value = p.value.data();
    float* grad = p.grad.data();
    float* m = m_[index].data();
    float* v = v_[index].data();
    const float decay = p.decay ? 1.0f - lr * options_.weight_decay : 1.0f;
    pool.parallel_for(p.numel(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i] * clip;
        grad[i] = g;
        value[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        value[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_correction2 + options_.eps);
      }
    });
  }
  return norm;
}

}  // namespace qp::train
