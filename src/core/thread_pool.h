// One pool of worker threads for the whole engine. parallel_for cuts a range
// into contiguous chunks that the threads (the caller among them) claim one
// after another, and blocks until all are done. Safe to call from several
// threads at once: the calls take turns (each one whole), which is what lets
// many threads share one qp::Model. A call from inside a running job (a
// worker, or the caller's own chunk) runs serially instead of deadlocking.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "core/profiler.h"

namespace qp {

class ThreadPool {
 public:
  // threads == 0 means all hardware threads. Throws qp::Error when `threads`
  // is negative or above max_threads(), and "cannot start N threads: …" when
  // the system refuses a thread; the workers already started are stopped and
  // joined first, so a refusal is an error, never a hang.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over [0, n) in contiguous chunks (about 8 a thread,
  // each at least one item), from any of the pool's threads in any order:
  // fn must not assume one call per thread.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void run_chunks();  // claims and runs chunks of the current job until none is left
  void stop_workers() noexcept;

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0;
  int64_t grain_ = 1;             // items per chunk
  std::atomic<int64_t> next_{0};  // first item not yet claimed
  // With profiling on: the caller's op, charged for the workers' chunks, and
  // the nanoseconds the workers spent in them (the rest of the region is idle).
  bool job_profiled_ = false;
  profile::Op job_op_ = profile::Op::None;
  int64_t job_busy_ns_ = 0;
  // Atomic so that threads can spin on them briefly before sleeping (see
  // spin_until in thread_pool.cpp); written under mutex_ all the same.
  std::atomic<int64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stopping_ = false;
};

int hardware_threads();

// The most threads one pool may have: 256, or all hardware threads on a
// machine with more. Beyond that a count is a typo or a runaway value, never a
// speed-up: 100000 threads starve every other process on the machine.
int max_threads();

// Throws qp::Error "<what> <threads>: expected 0 (all hardware threads) to
// <max_threads()>" unless the count is in that range.
void check_thread_count(int threads, std::string_view what);

}  // namespace qp
