// The distillation objective (TernaryBERT's recipe): the student matches the
// fp32 teacher's predictions and its hidden states. For a classifier, T²·KL
// of the temperature-softened logits; for an embedding model, 1 − cosine and
// MSE of the pooled (normalized) output; for both, the MSE of the embeddings'
// output and of every layer's output. No labels are needed.
#pragma once

#include "train/trainable_encoder.h"

namespace qp::train {

struct DistillOptions {
  float logits_weight = 1.0f;  // classifiers: T²·KL(teacher ‖ student)
  float temperature = 1.0f;
  float hidden_weight = 1.0f;         // Σ over hidden states of their MSE
  float cosine_weight = 1.0f;         // embedding models: 1 − cosine of the output
  float embedding_mse_weight = 1.0f;  // embedding models: MSE of the output
};

struct LossParts {
  double total = 0.0;
  double logits = 0.0;  // KL (classifiers)
  double hidden = 0.0;  // Σ of the hidden-state MSEs
  double cosine = 0.0;  // 1 − cosine (embedding models)
  double mse = 0.0;     // output MSE (embedding models)

  LossParts& operator+=(const LossParts& other);
  LossParts scaled(double factor) const;
};

// The loss of `student` against `teacher` (same batch) and its gradient with
// respect to the student's outputs (grads is resized and overwritten).
LossParts distillation_loss(const ForwardPass& student, const ForwardPass& teacher, TrainHead head,
                            int head_width, const DistillOptions& options, OutputGrads& grads);

}  // namespace qp::train
