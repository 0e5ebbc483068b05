// What `GET /metrics` reports, in Prometheus' text format: requests by route
// and status, their latency, how the scheduler batches (sequences and tokens
// per batch, time per batch), how long requests wait, queue depth and the
// tokens served. Every member is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qp::serve {

// A cumulative Prometheus histogram over fixed upper bounds (+Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // name_bucket{labels,le="…"} lines, then name_sum and name_count.
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, the last one above every bound
  double sum_ = 0;
  int64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();

  // Requests a route handler is working on (the /metrics gauge, and what shutdown waits for).
  void request_started() { in_flight_.fetch_add(1); }
  void request_ended() { in_flight_.fetch_sub(1); }
  // Every answer, the HTTP layer's own refusals (404, 413) included; seconds
  // when known.
  void request_answered(const std::string& route, int status, std::optional<double> seconds);
  // Inputs a request brought and their tokens (after truncation).
  void inputs_tokenized(const std::string& route, const std::vector<int64_t>& tokens_per_input);
  void batch_ran(int sequences, int64_t tokens, double seconds);
  void queue_waited(double seconds);  // from submission to the request's first batch
  void set_queue_depth(int64_t requests) { queue_depth_.store(requests); }

  int64_t in_flight() const { return in_flight_.load(); }
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> queue_depth_{0};
  std::map<std::pair<std::string, int>, int64_t> requests_;               // (route, status) → count
  std::map<std::string, Histogram> request_seconds_;                      // by route
  std::map<std::string, std::pair<int64_t, int64_t>> inputs_and_tokens_;  // by route
  Histogram input_tokens_;
  Histogram queue_seconds_;
  Histogram batch_sequences_;
  Histogram batch_tokens_;
  Histogram batch_seconds_;
};

}  // namespace qp::serve
