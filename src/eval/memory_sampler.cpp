#include "eval/memory_sampler.h"

#include <algorithm>
#include <numeric>

#include "eval/stats.h"

namespace qp::eval {

MemorySampler::MemorySampler(std::chrono::milliseconds interval) : interval_(interval) {
  exact_peak_ = reset_peak_rss();
  sample();
  thread_ = std::thread([this] { run(); });
}

MemorySampler::~MemorySampler() { stop(); }

void MemorySampler::sample() {
  const long long rss = current_rss_bytes();
  if (rss <= 0) return;
  std::lock_guard lock(mutex_);
  samples_.push_back(rss);
}

void MemorySampler::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    sample();
    lock.lock();
  }
}

MemoryMb MemorySampler::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    sample();
  }
  std::lock_guard lock(mutex_);
  MemoryMb memory;
  memory.samples = static_cast<int64_t>(samples_.size());
  if (samples_.empty()) return memory;
  const double total = std::accumulate(samples_.begin(), samples_.end(), 0.0);
  memory.rss_avg = total / static_cast<double>(samples_.size()) / 1e6;
  long long peak = *std::max_element(samples_.begin(), samples_.end());
  // Samples miss a buffer that lives between two of them; the kernel's
  // high-water mark does not.
  if (exact_peak_) peak = std::max(peak, peak_rss_bytes());
  memory.rss_peak = static_cast<double>(peak) / 1e6;
  return memory;
}

}  // namespace qp::eval
