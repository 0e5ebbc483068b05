// retain_freed_memory: a block freed and allocated again (the shape of an
// encoder layer's activations from one batch to the next) must come back
// without faulting its pages in a second time.
#include "core/heap_tuning.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace {

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Faults taken while allocating, touching and freeing `bytes`.
long faults_for_one_round(size_t bytes) {
  const long before = minor_faults();
  auto* p = static_cast<char*>(std::malloc(bytes));
  std::memset(p, 1, bytes);
  const long after = minor_faults();
  std::free(p);
  return after - before;
}

TEST(HeapTuning, FreedActivationBuffersAreReusedWithoutPageFaults) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "retain_freed_memory tunes glibc malloc only";
#else
  qp::retain_freed_memory();
  constexpr size_t kBytes = 24u << 20;  // a MiniLM batch-32 FFN activation: 4096 × 1536 floats
  faults_for_one_round(kBytes);         // the first round may fault its pages in
  const long again = faults_for_one_round(kBytes);
  // Without the tuning glibc maps the block afresh: ≈ 6,000 faults of 4 KiB pages.
  EXPECT_LT(again, 200) << "the freed 24 MiB block was returned to the kernel and faulted in again";
#endif
}

}  // namespace
