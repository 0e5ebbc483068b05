// One levelled log sink on stderr. Results go to stdout, never through here.
#pragma once

#include <string>

#include "core/error.h"

namespace qp {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Quiet = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, const std::string& message);

template <typename... Parts>
void log_info(Parts&&... parts) {
  if (log_level() <= LogLevel::Info) log_line(LogLevel::Info, cat(std::forward<Parts>(parts)...));
}
template <typename... Parts>
void log_warn(Parts&&... parts) {
  if (log_level() <= LogLevel::Warn) log_line(LogLevel::Warn, cat(std::forward<Parts>(parts)...));
}
template <typename... Parts>
void log_debug(Parts&&... parts) {
  if (log_level() <= LogLevel::Debug) log_line(LogLevel::Debug, cat(std::forward<Parts>(parts)...));
}

}  // namespace qp
