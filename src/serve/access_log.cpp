#include "serve/access_log.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qp::serve {

namespace {

// UTC with milliseconds: 2026-12-04T16:40:00.123Z
std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis));
  return text;
}

}  // namespace

AccessLog::AccessLog(const std::string& target) {
  if (target.empty()) return;
  if (target == "-") {
    file_ = stdout;
    return;
  }
  file_ = std::fopen(target.c_str(), "a");
  if (!file_) fail(target, ": cannot open the access log: ", std::strerror(errno));
  owned_ = true;
}

AccessLog::~AccessLog() {
  if (owned_) std::fclose(file_);
}

void AccessLog::write(const AccessRecord& record) {
  if (!file_) return;
  const std::string line = access_record_json(record) + "\n";
  const std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::string access_record_json(const AccessRecord& record) {
  nlohmann::ordered_json line = {{"time", now_iso8601()},
                                 {"remote", record.remote},
                                 {"method", record.method},
                                 {"path", record.path},
                                 {"status", record.status}};
  if (record.milliseconds) line["ms"] = std::round(*record.milliseconds * 1000) / 1000;
  line["request_bytes"] = record.request_bytes;
  line["response_bytes"] = record.response_bytes;
  if (record.inputs) line["inputs"] = *record.inputs;
  if (record.tokens) line["tokens"] = *record.tokens;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace qp::serve
