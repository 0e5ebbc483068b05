#include "progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace qp::cli {

namespace {
// Often enough to look alive, rarely enough to cost nothing.
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
}  // namespace

std::string with_thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return value < 0 ? "-" + digits : digits;
}

ProgressLine::ProgressLine(std::string what, std::string unit)
    // Results on the same terminal would be written into the middle of the line;
    // they show the progress themselves there.
    : enabled_(isatty(STDERR_FILENO) == 1 && isatty(STDOUT_FILENO) == 0),
      what_(std::move(what)),
      unit_(std::move(unit)),
      start_(Clock::now()),
      last_draw_(start_) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::add(int64_t done) {
  count_ += done;
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  if (shown_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  draw();
}

void ProgressLine::draw() {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t rate = seconds > 0 ? static_cast<int64_t>(static_cast<double>(count_) / seconds) : 0;
  // stderr is unbuffered: one fprintf, one write, no interleaving with our own logs mid-line.
  const std::string line =
      "\r[" + what_ + "] " + with_thousands(count_) + " " + unit_ + ", " + with_thousands(rate) + "/s\033[K";
  std::fputs(line.c_str(), stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  shown_ = false;
}

}  // namespace qp::cli
