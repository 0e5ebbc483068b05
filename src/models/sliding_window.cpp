#include "models/sliding_window.h"

#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace qp {

SlidingWindowHook::SlidingWindowHook(int half_window) : half_window_(half_window) {
  if (half_window < 0) fail("a sliding attention window cannot be negative, got ", half_window);
}

void SlidingWindowHook::add_bias(const ScoreContext& context, int seq, int, int first_query, int query_count,
                                 float* scores) const {
  const int len = context.batch->length(seq);
  // The lowest finite value rather than -inf: the softmax's exp() gives 0
  // either way, and the diagonal is always inside the window.
  const float masked = std::numeric_limits<float>::lowest();
  for (int r = 0; r < query_count; ++r)
    for (int j = 0; j < len; ++j)
      if (std::abs(first_query + r - j) > half_window_) scores[static_cast<size_t>(r) * len + j] = masked;
}

}  // namespace qp
