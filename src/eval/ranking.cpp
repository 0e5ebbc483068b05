#include "eval/ranking.h"

#include <algorithm>
#include <numeric>

namespace qp::eval {

std::vector<size_t> order_by_score(const std::vector<std::optional<float>>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!scores[a] || !scores[b]) return scores[a].has_value() && !scores[b].has_value();
    return *scores[a] > *scores[b];
  });
  return order;
}

}  // namespace qp::eval
