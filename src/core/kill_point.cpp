#include "core/kill_point.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>

namespace qp {
namespace {

struct KillPlan {
  long long kill_at = 0;  // 0: never
  int trace_fd = -1;
  bool active() const { return kill_at > 0 || trace_fd >= 0; }
};

KillPlan read_plan() {
  KillPlan plan;
  if (const char* at = std::getenv("QUANTPIPE_KILL_AT")) plan.kill_at = std::atoll(at);
  if (const char* trace = std::getenv("QUANTPIPE_KILL_TRACE"); trace && *trace)
    plan.trace_fd = ::open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return plan;
}

const KillPlan& plan() {
  static const KillPlan p = read_plan();
  return p;
}

}  // namespace

void kill_point(const char* point, const std::filesystem::path& path) {
  const KillPlan& p = plan();
  if (!p.active()) return;
  static std::atomic<long long> reached{0};
  static std::mutex trace_mutex;
  const long long n = ++reached;
  if (p.trace_fd >= 0) {
    // One write() per line with O_APPEND: lines from threads never interleave.
    const std::string line = std::to_string(n) + " " + point + " " + path.string() + "\n";
    std::lock_guard lock(trace_mutex);
    [[maybe_unused]] const ssize_t written = ::write(p.trace_fd, line.data(), line.size());
  }
  if (n == p.kill_at) {
    ::raise(SIGKILL);
    ::pause();  // SIGKILL cannot be caught: never reached
  }
}

}  // namespace qp
