// retain_freed_memory: blocks freed and allocated again (the shape of an
// encoder layer's activations from one batch to the next) must come back
// without faulting its pages in a second time.
#include "quantpipe/heap_tuning.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <iterator>

#include "sanitizer_skip.h"

namespace {

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// One MiniLM layer's activations for a batch of 32 × 128 tokens, in MiB:
// qkv, context, projection, FFN up. Together they pass glibc's default
// (dynamic) trim threshold, so without the tuning the freed heap top goes
// back to the kernel after every layer.
constexpr size_t kLayerMiB[] = {18, 6, 6, 24};

// Faults taken while allocating and touching one layer's buffers.
long faults_for_one_layer() {
  const long before = minor_faults();
  char* blocks[std::size(kLayerMiB)];
  for (size_t i = 0; i < std::size(kLayerMiB); ++i) {
    blocks[i] = static_cast<char*>(std::malloc(kLayerMiB[i] << 20));
    std::memset(blocks[i], 1, kLayerMiB[i] << 20);
  }
  const long after = minor_faults();
  for (char* block : blocks) std::free(block);
  return after - before;
}

TEST(HeapTuning, FreedActivationBuffersAreReusedWithoutPageFaults) {
  QP_SKIP_UNDER_SANITIZER("the sanitizer replaces glibc malloc, whose tuning this measures");
#if !defined(__GLIBC__)
  GTEST_SKIP() << "retain_freed_memory tunes glibc malloc only";
#else
  qp::retain_freed_memory();
  faults_for_one_layer();  // the first layers fault their pages in
  faults_for_one_layer();
  const long again = faults_for_one_layer();
  // Without the tuning the next layer faults most of its 54 MiB in again
  // (thousands of 4 KiB pages).
  EXPECT_LT(again, 500) << "freed activation buffers went back to the kernel and were faulted in again";
#endif
}

}  // namespace
