// A tensor sink that holds every forward pass at its start until open(): a
// test can then keep the serve scheduler inside one batch and see exact queue
// states instead of timing them.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>

#include "quantpipe/types.h"

namespace qp::test {

class GateSink : public TensorSink {
 public:
  void begin_pass() override {
    std::unique_lock lock(mutex_);
    ++passes_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void on_tensor(const std::string&, const float*, int64_t, int64_t) override {}
  // Waits until n passes have started (and are held).
  void wait_for_passes(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return passes_ >= n; });
  }
  void open() {
    const std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int passes_ = 0;
  bool open_ = false;
};

}  // namespace qp::test
