#include <algorithm>

#include "core/error.h"
#include "tokenize/tokenizer_impl.h"

namespace qp::tok {

namespace {

void cut(std::vector<int32_t>& ids, size_t keep, bool from_left) {
  if (ids.size() <= keep) return;
  if (from_left)
    ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
  else
    ids.resize(keep);
}

}  // namespace

void truncate_pair(std::vector<int32_t>& a, std::vector<int32_t>* b, const Truncation& t, int max_length) {
  const size_t max_len = static_cast<size_t>(max_length);
  const size_t total = a.size() + (b ? b->size() : 0);
  if (total <= max_len) return;
  const size_t to_remove = total - max_len;
  if (!b) {
    if (t.strategy == TruncationStrategy::OnlySecond)
      fail("truncation strategy OnlySecond needs a pair of sequences");
    cut(a, max_len, t.from_left);
    return;
  }
  if (t.strategy != TruncationStrategy::LongestFirst) {
    std::vector<int32_t>& target = t.strategy == TruncationStrategy::OnlyFirst ? a : *b;
    if (target.size() <= to_remove)
      fail("truncation to ", max_length, " tokens is impossible by cutting only one sequence of ",
           target.size());
    cut(target, target.size() - to_remove, t.from_left);
    return;
  }
  // Longest first, as Hugging Face does: keep the shorter whole when it fits in
  // half, else split max_len evenly (the odd token goes to the longer one).
  size_t n1 = a.size();
  size_t n2 = b->size();
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);
  n2 = n1 > max_len ? n1 : std::max(n1, max_len - n1);
  if (n1 + n2 > max_len) {
    n1 = max_len / 2;
    n2 = n1 + max_len % 2;
  }
  if (swapped) std::swap(n1, n2);
  cut(a, n1, t.from_left);
  cut(*b, n2, t.from_left);
}

}  // namespace qp::tok
