// The resident-set figures the benchmark and the evaluation report: the peak
// starts over after reset_peak_rss(), so a later model's peak is its own.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "eval/stats.h"
#include "quantpipe/heap_tuning.h"

namespace qp {
namespace {

TEST(Rss, PeakStartsOverAfterAReset) {
  constexpr size_t kBytes = size_t{256} << 20;
  {
    const std::unique_ptr<char[]> big(new char[kBytes]);
    std::memset(big.get(), 1, kBytes);  // touch every page: resident
    EXPECT_GE(current_rss_bytes(), static_cast<long long>(kBytes));
  }
  release_freed_memory();
  const long long after_free = current_rss_bytes();
  const long long peak_before_reset = peak_rss_bytes();
  EXPECT_GE(peak_before_reset, static_cast<long long>(kBytes));
  if (!reset_peak_rss()) GTEST_SKIP() << "this system cannot reset the peak (/proc/self/clear_refs)";
  const long long peak = peak_rss_bytes();
  EXPECT_LT(peak, peak_before_reset - static_cast<long long>(kBytes) / 2);
  EXPECT_GE(peak, after_free / 2);
}

}  // namespace
}  // namespace qp
