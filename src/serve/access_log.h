// The access log: one JSON object per answered request, appended as a line
// ({"time", "remote", "method", "path", "status", "ms", "request_bytes",
// "response_bytes", "inputs", "tokens"}), so `jq` and log shippers read it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

namespace qp::serve {

struct AccessRecord {
  std::string remote;  // "address:port"
  std::string method;
  std::string path;
  int status = 0;
  std::optional<double> milliseconds;  // from arrival to answer; unknown for what the HTTP layer refused
  int64_t request_bytes = 0;
  int64_t response_bytes = 0;
  std::optional<int64_t> inputs;
  std::optional<int64_t> tokens;
};

class AccessLog {
 public:
  // "-": standard output; "": nothing; else the file, appended (created when absent).
  // Throws qp::Error naming the file when it cannot be opened.
  explicit AccessLog(const std::string& target);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessRecord& record);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

// One record as its JSON line (no newline).
std::string access_record_json(const AccessRecord& record);

}  // namespace qp::serve
