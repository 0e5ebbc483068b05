#include "serve/server_metrics.h"

#include <algorithm>
#include <cstdio>

namespace qp::serve {

namespace {

const std::vector<double> kSecondsBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,   0.5,   1,      2.5,   5,    10,    30};

std::vector<double> powers_of_two(int from, int to) {
  std::vector<double> bounds;
  for (int e = from; e <= to; ++e) bounds.push_back(static_cast<double>(int64_t{1} << e));
  return bounds;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += " ";
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " ";
  out += type;
  out += "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string prefix = labels.empty() ? "" : labels + ",";
  int64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + prefix + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : input_tokens_(powers_of_two(0, 14)),
      queue_seconds_(kSecondsBounds),
      batch_sequences_(powers_of_two(0, 12)),
      batch_tokens_(powers_of_two(4, 20)),
      batch_seconds_(kSecondsBounds) {}

void ServerMetrics::request_answered(const std::string& route, int status, std::optional<double> seconds) {
  const std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  if (seconds) request_seconds_.try_emplace(route, kSecondsBounds).first->second.observe(*seconds);
}

void ServerMetrics::inputs_tokenized(const std::string& route, const std::vector<int64_t>& tokens_per_input) {
  const std::lock_guard lock(mutex_);
  auto& [inputs, tokens] = inputs_and_tokens_[route];
  for (int64_t t : tokens_per_input) {
    input_tokens_.observe(static_cast<double>(t));
    ++inputs;
    tokens += t;
  }
}

void ServerMetrics::batch_ran(int sequences, int64_t tokens, double seconds) {
  const std::lock_guard lock(mutex_);
  batch_sequences_.observe(sequences);
  batch_tokens_.observe(static_cast<double>(tokens));
  batch_seconds_.observe(seconds);
}

void ServerMetrics::queue_waited(double seconds) {
  const std::lock_guard lock(mutex_);
  queue_seconds_.observe(seconds);
}

std::string ServerMetrics::render() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  header(out, "quantpipe_requests_total", "counter", "HTTP requests answered, by route and status code");
  for (const auto& [key, count] : requests_)
    out += "quantpipe_requests_total{route=\"" + key.first + "\",code=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";
  header(out, "quantpipe_request_duration_seconds", "histogram",
         "Time from a request's arrival to its answer, by route");
  for (const auto& [route, histogram] : request_seconds_)
    histogram.write(out, "quantpipe_request_duration_seconds", "route=\"" + route + "\"");
  header(out, "quantpipe_requests_in_flight", "gauge", "Requests being answered now");
  out += "quantpipe_requests_in_flight " + std::to_string(in_flight_.load()) + "\n";
  header(out, "quantpipe_queue_depth", "gauge", "Requests waiting for the model (above --max-queue: 429)");
  out += "quantpipe_queue_depth " + std::to_string(queue_depth_.load()) + "\n";
  header(out, "quantpipe_queue_duration_seconds", "histogram",
         "Time a request waited in the queue before its first batch ran");
  queue_seconds_.write(out, "quantpipe_queue_duration_seconds", "");
  header(out, "quantpipe_inputs_total", "counter", "Inputs (texts, pairs) tokenized, by route");
  for (const auto& [route, counts] : inputs_and_tokens_)
    out += "quantpipe_inputs_total{route=\"" + route + "\"} " + std::to_string(counts.first) + "\n";
  header(out, "quantpipe_tokens_total", "counter",
         "Tokens of those inputs, special tokens included, by route");
  for (const auto& [route, counts] : inputs_and_tokens_)
    out += "quantpipe_tokens_total{route=\"" + route + "\"} " + std::to_string(counts.second) + "\n";
  header(out, "quantpipe_input_tokens", "histogram", "Tokens per input");
  input_tokens_.write(out, "quantpipe_input_tokens", "");
  header(out, "quantpipe_batch_size", "histogram", "Sequences per batch the scheduler ran");
  batch_sequences_.write(out, "quantpipe_batch_size", "");
  header(out, "quantpipe_batch_tokens", "histogram", "Tokens per batch the scheduler ran");
  batch_tokens_.write(out, "quantpipe_batch_tokens", "");
  header(out, "quantpipe_batch_duration_seconds", "histogram", "Time the model took per batch");
  batch_seconds_.write(out, "quantpipe_batch_duration_seconds", "");
  return out;
}

}  // namespace qp::serve
