// Local (sliding-window) attention as a score hook: a query attends only to
// keys at most `half_window` positions away in its sequence (ModernBERT's
// local layers: local_attention / 2). Masks the full score matrix, so it
// costs O(n²) like global attention; a banded kernel would cost O(n·w).
#pragma once

#include "models/layer_parts.h"

namespace qp {

class SlidingWindowHook final : public ScoreHook {
 public:
  explicit SlidingWindowHook(int half_window);
  void add_bias(const ScoreContext& context, int seq, int head, float* scores) const override;

 private:
  int half_window_;
};

}  // namespace qp
