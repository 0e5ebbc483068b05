// Distillation losses: each returns the loss (a mean over rows or elements)
// and writes its gradient with respect to the student's values.
#pragma once

#include <cstdint>

namespace qp::train {

// T²·KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over rows
// (Hinton et al.; the T² keeps gradient sizes independent of T).
float soft_kl_loss(const float* student, const float* teacher, int rows, int classes, float temperature,
                   float* d_student);

// mean((student − teacher)²) over all n elements.
float mse_loss(const float* student, const float* teacher, int64_t n, float* d_student);

// mean over rows of 1 − cos(student_r, teacher_r).
float cosine_loss(const float* student, const float* teacher, int rows, int width, float* d_student);

}  // namespace qp::train
