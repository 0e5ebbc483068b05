// Samples this process's resident set size on a background thread while a
// run is going, for the memory columns of an evaluation (average and peak).
// The peak is exact where the kernel's high-water mark can be reset at the
// start (/proc/self/clear_refs); elsewhere it is the largest sample.
//
//   MemorySampler sampler;           // starts sampling
//   run_everything();
//   eval::MemoryMb memory = sampler.stop();
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "eval/evaluation.h"

namespace qp::eval {

class MemorySampler {
 public:
  // Takes one sample at once, then one every `interval` until stop().
  explicit MemorySampler(std::chrono::milliseconds interval = std::chrono::milliseconds(5));
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;

  // Takes a last sample, ends the thread and summarizes every sample in MB
  // (1e6 bytes). Later calls return the same summary.
  MemoryMb stop();

 private:
  void run();
  void sample();

  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool exact_peak_ = false;  // the high-water mark was reset when sampling began
  std::vector<long long> samples_;  // bytes; guarded by mutex_
  std::thread thread_;
};

}  // namespace qp::eval
