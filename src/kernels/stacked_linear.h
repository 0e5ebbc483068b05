// Several Linear layers of the same input computed as one: output columns
// [0, n0) come from the first, [n0, n0+n1) from the second, … Used for q, k, v
// when they cannot be fused into one weight (different formats).
#pragma once

#include <memory>
#include <vector>

#include "kernels/kernels.h"

namespace qp::kernels {

class StackedLinear final : public LinearLayer {
 public:
  explicit StackedLinear(std::vector<std::unique_ptr<LinearLayer>> parts);
  int n() const override { return n_; }
  int k() const override { return parts_.front()->k(); }
  std::string format() const override;
  void forward(const float* x, int m, float* y, ThreadPool& pool,
               Epilogue epilogue = Epilogue::None) const override;

 private:
  std::vector<std::unique_ptr<LinearLayer>> parts_;
  int n_ = 0;
};

}  // namespace qp::kernels
