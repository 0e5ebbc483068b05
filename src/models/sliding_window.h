// Local (sliding-window) attention as a score hook: a query attends only to
// keys at most `half_window` positions away in its sequence (ModernBERT's
// local layers: local_attention / 2). Attention sees band_half_width() and
// runs the banded kernel (O(n·w)); add_bias, which masks a block of score rows
// against every key, is the definition that kernel is tested against.
#pragma once

#include "models/layer_parts.h"

namespace qp {

class SlidingWindowHook final : public ScoreHook {
 public:
  explicit SlidingWindowHook(int half_window);
  void add_bias(const ScoreContext& context, int seq, int head, int first_query, int query_count,
                float* scores) const override;
  int band_half_width() const override { return half_window_; }

 private:
  int half_window_;
};

}  // namespace qp
