// Dynamic batching. HTTP threads tokenize their request and submit its
// sequences; one scheduler thread takes the queue in arrival order, packs
// sequences of one kind (embeddings or logits) into a batch until the next
// would pass the token budget, runs the batch on the one model (its forward
// pass uses the model's thread pool), and gives each request its own rows
// back. A request may be split across batches and a batch may hold many
// requests; rows always return in the request's own order.
//
// Backpressure: at most max_queue requests wait; submit() refuses more with
// an Overloaded error (429) instead of letting latency grow without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "quantpipe/model.h"
#include "serve/server_metrics.h"

namespace qp::serve {

enum class Head { Embedding, Logits };

struct BatchLimits {
  int64_t max_batch_tokens = 16384;  // a longer single sequence still runs, alone
  int max_queue = 128;               // requests waiting; more are refused
};

using Rows = std::vector<std::vector<float>>;

class BatchScheduler {
 public:
  // The model must outlive the scheduler; metrics may be null.
  BatchScheduler(const Model& model, BatchLimits limits, ServerMetrics* metrics);
  ~BatchScheduler();  // stop()
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues one request's sequences; the future gives one row per encoding,
  // in order (embeddings, or logits), or the model's error. Throws a
  // RequestError: Overloaded when the queue is full, Unhealthy once stopping.
  std::future<Rows> submit(Head head, std::vector<Encoding> encodings);

  // Refuses new work, finishes everything queued, joins the thread.
  void stop();

  int64_t queued_requests() const;

 private:
  struct Request;
  struct Slot {
    std::shared_ptr<Request> request;
    size_t index;
  };
  void run();
  std::vector<Slot> next_batch(std::unique_lock<std::mutex>& lock);  // empty when stopping and drained
  void run_batch(std::vector<Slot>& batch);

  const Model& model_;
  const BatchLimits limits_;
  ServerMetrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<std::shared_ptr<Request>> queue_;  // requests with sequences not yet batched
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace qp::serve
