#include "train/distillation.h"

#include "core/error.h"
#include "train/losses.h"

namespace qp::train {

LossParts& LossParts::operator+=(const LossParts& o) {
  total += o.total;
  logits += o.logits;
  hidden += o.hidden;
  cosine += o.cosine;
  mse += o.mse;
  return *this;
}

LossParts LossParts::scaled(double f) const {
  return {total * f, logits * f, hidden * f, cosine * f, mse * f};
}

LossParts distillation_loss(const ForwardPass& student, const ForwardPass& teacher, TrainHead head,
                            int head_width, const DistillOptions& options, OutputGrads& grads) {
  if (student.layers.size() != teacher.layers.size() || student.emb_out.size() != teacher.emb_out.size())
    fail("[train] student and teacher differ in shape; distillation needs the same architecture");
  LossParts parts;
  const std::vector<float>& s_out = student.head_output();
  const std::vector<float>& t_out = teacher.head_output();
  const int rows = static_cast<int>(s_out.size()) / head_width;
  grads.d_head.assign(s_out.size(), 0.0f);
  std::vector<float> part(s_out.size());
  if (head == TrainHead::Classifier) {
    if (options.logits_weight > 0.0f) {
      parts.logits =
          soft_kl_loss(s_out.data(), t_out.data(), rows, head_width, options.temperature, part.data());
      for (size_t i = 0; i < part.size(); ++i) grads.d_head[i] += options.logits_weight * part[i];
    }
    parts.total += options.logits_weight * parts.logits;
  } else {
    if (options.cosine_weight > 0.0f) {
      parts.cosine = cosine_loss(s_out.data(), t_out.data(), rows, head_width, part.data());
      for (size_t i = 0; i < part.size(); ++i) grads.d_head[i] += options.cosine_weight * part[i];
    }
    if (options.embedding_mse_weight > 0.0f) {
      parts.mse = mse_loss(s_out.data(), t_out.data(), static_cast<int64_t>(s_out.size()), part.data());
      for (size_t i = 0; i < part.size(); ++i) grads.d_head[i] += options.embedding_mse_weight * part[i];
    }
    parts.total += options.cosine_weight * parts.cosine + options.embedding_mse_weight * parts.mse;
  }
  const int states = static_cast<int>(student.layers.size()) + 1;
  grads.d_hidden_states.assign(states, {});
  if (options.hidden_weight > 0.0f) {
    for (int i = 0; i < states; ++i) {
      const std::vector<float>& s = student.hidden_state(i);
      std::vector<float>& d = grads.d_hidden_states[i];
      d.resize(s.size());
      parts.hidden +=
          mse_loss(s.data(), teacher.hidden_state(i).data(), static_cast<int64_t>(s.size()), d.data());
      for (float& g : d) g *= options.hidden_weight;
    }
    parts.total += options.hidden_weight * parts.hidden;
  }
  return parts;
}

}  // namespace qp::train
