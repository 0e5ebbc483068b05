// A progress bar for one file transfer on stderr:
//   "\r[download] model.safetensors [#######-------------] 31.2/87.0 MiB  12.4 MiB/s  ETA 5s"
// redrawn at most a few times a second and cleared when the file is done, so
// a terminal keeps only the log lines. Only drawn when asked (the CLI asks
// when stderr is a terminal): logs and pipes never get carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qp {

class TransferProgress {
 public:
  // `name` is what is shown (the file), after "[<verb>]"; `enabled` false
  // makes every call a no-op.
  TransferProgress(std::string name, bool enabled, std::string verb = "download");
  ~TransferProgress();  // clears the bar
  TransferProgress(const TransferProgress&) = delete;
  TransferProgress& operator=(const TransferProgress&) = delete;

  // `done` of `total` bytes (total 0: unknown). Bytes a resumed transfer
  // already had count as done but not towards the rate.
  void update(int64_t done, int64_t total);
  void clear();

 private:
  using Clock = std::chrono::steady_clock;

  std::string name_, verb_;
  bool enabled_, shown_ = false;
  int64_t first_done_ = -1;  // bytes at the first update: a resumed file's head start
  Clock::time_point start_, last_draw_;
};

// The bar's text for `done`/`total` bytes at `bytes_per_s` (no carriage return).
std::string format_transfer_progress(const std::string& name, int64_t done, int64_t total, double bytes_per_s,
                                     const std::string& verb = "download");

}  // namespace qp
