// A progress line on stderr for the streaming commands, only when stderr is
// a terminal and stdout is not (results go to a file or a pipe):
// "\r[embed] 12,345 texts, 410/s", redrawn at most a few times a second and
// cleared at the end. Redirected stderr (a log file, a pipe, a
// test) never gets one, so logs hold no carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qp::cli {

class ProgressLine {
 public:
  // `what` names the command ("embed"), `unit` what is counted ("texts").
  ProgressLine(std::string what, std::string unit);
  ~ProgressLine();  // clears the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void add(int64_t done);  // counts `done` more and redraws when due
  void clear();            // erases the line (before an error message, at the end)

 private:
  using Clock = std::chrono::steady_clock;
  void draw();

  bool enabled_;
  bool shown_ = false;
  std::string what_, unit_;
  int64_t count_ = 0;
  Clock::time_point start_, last_draw_;
};

// 12345 → "12,345".
std::string with_thousands(int64_t value);

}  // namespace qp::cli
