#include "train/losses.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qp::train {
namespace {

void softmax(const float* x, int n, float inv_t, double* out) {
  double top = -INFINITY;
  for (int i = 0; i < n; ++i) top = std::max(top, static_cast<double>(x[i]) * inv_t);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += out[i] = std::exp(static_cast<double>(x[i]) * inv_t - top);
  for (int i = 0; i < n; ++i) out[i] /= sum;
}

}  // namespace

float soft_kl_loss(const float* student, const float* teacher, int rows, int classes, float temperature,
                   float* d_student) {
  std::vector<double> ps(classes), pt(classes);
  const float inv_t = 1.0f / temperature;
  double loss = 0.0;
  for (int r = 0; r < rows; ++r) {
    softmax(student + r * classes, classes, inv_t, ps.data());
    softmax(teacher + r * classes, classes, inv_t, pt.data());
    for (int c = 0; c < classes; ++c) {
      if (pt[c] > 0.0) loss += pt[c] * (std::log(pt[c]) - std::log(std::max(ps[c], 1e-300)));
      // ∂(T²·KL)/∂s = T·(p_s − p_t), then the mean over rows.
      d_student[r * classes + c] = static_cast<float>(temperature * (ps[c] - pt[c]) / rows);
    }
  }
  return static_cast<float>(loss * temperature * temperature / rows);
}

float mse_loss(const float* student, const float* teacher, int64_t n, float* d_student) {
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(student[i]) - teacher[i];
    loss += diff * diff;
    d_student[i] = static_cast<float>(2.0 * diff / n);
  }
  return static_cast<float>(loss / n);
}

float cosine_loss(const float* student, const float* teacher, int rows, int width, float* d_student) {
  double loss = 0.0;
  for (int r = 0; r < rows; ++r) {
    const float* s = student + r * width;
    const float* t = teacher + r * width;
    double ss = 0.0, tt = 0.0, st = 0.0;
    for (int c = 0; c < width; ++c) {
      ss += static_cast<double>(s[c]) * s[c];
      tt += static_cast<double>(t[c]) * t[c];
      st += static_cast<double>(s[c]) * t[c];
    }
    const double ns = std::max(std::sqrt(ss), 1e-12), nt = std::max(std::sqrt(tt), 1e-12);
    const double cos = st / (ns * nt);
    loss += 1.0 - cos;
    // ∂cos/∂s = t/(|s||t|) − cos·s/|s|².
    for (int c = 0; c < width; ++c)
      d_student[r * width + c] = static_cast<float>(-(t[c] / (ns * nt) - cos * s[c] / (ns * ns)) / rows);
  }
  return static_cast<float>(loss / rows);
}

}  // namespace qp::train
