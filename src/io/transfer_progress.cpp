#include "io/transfer_progress.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace qp {
namespace {

// Often enough to look alive, rarely enough to cost nothing.
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
constexpr int kBarWidth = 20;

std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(std::ceil(seconds));
  if (s < 60) return cat(s, "s");
  if (s < 3600) return cat(s / 60, "m", s % 60 < 10 ? "0" : "", s % 60, "s");
  return cat(s / 3600, "h", (s % 3600) / 60 < 10 ? "0" : "", (s % 3600) / 60, "m");
}

}  // namespace

std::string format_transfer_progress(const std::string& name, int64_t done, int64_t total, double bytes_per_s,
                                     const std::string& verb) {
  std::string line = cat("[", verb, "] ", name, " ");
  if (total > 0) {
    const int filled = static_cast<int>(kBarWidth * std::min<int64_t>(done, total) / total);
    line += cat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '-'), "] ", mib(done), "/",
                mib(total), " MiB");
  } else {
    line += cat(mib(done), " MiB");
  }
  if (bytes_per_s > 0) {
    line += cat("  ", mib(static_cast<int64_t>(bytes_per_s)), " MiB/s");
    if (total > done) line += cat("  ETA ", duration(static_cast<double>(total - done) / bytes_per_s));
  }
  return line;
}

TransferProgress::TransferProgress(std::string name, bool enabled, std::string verb)
    : name_(std::move(name)),
      verb_(std::move(verb)),
      enabled_(enabled),
      start_(Clock::now()),
      last_draw_(start_) {}

TransferProgress::~TransferProgress() { clear(); }

void TransferProgress::update(int64_t done, int64_t total) {
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  if (first_done_ < 0) first_done_ = done, start_ = now;
  if (shown_ && now - last_draw_ < kRedrawEvery && done != total) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0.05 ? static_cast<double>(done - first_done_) / seconds : 0.0;
  // stderr is unbuffered: one write per redraw.
  std::fputs(("\r" + format_transfer_progress(name_, done, total, rate, verb_) + "\033[K").c_str(), stderr);
  shown_ = true;
}

void TransferProgress::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  shown_ = false;
}

}  // namespace qp
