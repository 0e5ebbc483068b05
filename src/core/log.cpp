#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace qp {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::mutex g_sink_mutex;
const char* const kLevelTags[] = {"debug", "info", "warn", "error", ""};
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_line(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  std::fprintf(stderr, "[%s] %s\n", kLevelTags[static_cast<int>(level)], message.c_str());
}

}  // namespace qp
