#include "kernels/stacked_linear.h"

#include <algorithm>

#include "core/error.h"

namespace qp::kernels {

StackedLinear::StackedLinear(std::vector<std::unique_ptr<LinearLayer>> parts) : parts_(std::move(parts)) {
  if (parts_.empty()) fail("StackedLinear needs at least one layer");
  for (const auto& part : parts_) {
    if (part->k() != parts_.front()->k())
      fail("StackedLinear: layers take ", parts_.front()->k(), " and ", part->k(), " inputs");
    n_ += part->n();
  }
}

std::string StackedLinear::format() const {
  std::string text;
  for (const auto& part : parts_) text += (text.empty() ? "" : "+") + part->format();
  return text;
}

void StackedLinear::forward(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const {
  std::vector<float> part_out;
  int column = 0;
  for (const auto& part : parts_) {
    part_out.resize(static_cast<size_t>(m) * part->n());
    part->forward(x, m, part_out.data(), pool, epilogue);
    for (int r = 0; r < m; ++r)
      std::copy_n(&part_out[static_cast<size_t>(r) * part->n()], part->n(),
                  &y[static_cast<size_t>(r) * n_ + column]);
    column += part->n();
  }
}

}  // namespace qp::kernels
