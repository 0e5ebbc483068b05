#include "serve/batch_scheduler.h"

#include <exception>

#include "serve/request_error.h"

namespace qp::serve {

using Clock = std::chrono::steady_clock;

struct BatchScheduler::Request {
  Head head;
  std::vector<Encoding> encodings;
  Clock::time_point submitted = Clock::now();
  size_t next = 0;      // first sequence not yet put in a batch
  size_t finished = 0;  // sequences whose rows are in `rows`
  bool failed = false;  // the promise holds an error already
  Rows rows;
  std::promise<Rows> promise;
};

BatchScheduler::BatchScheduler(const Model& model, BatchLimits limits, ServerMetrics* metrics)
    : model_(model), limits_(limits), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
}

BatchScheduler::~BatchScheduler() { stop(); }

std::future<Rows> BatchScheduler::submit(Head head, std::vector<Encoding> encodings) {
  auto request = std::make_shared<Request>();
  request->head = head;
  request->rows.resize(encodings.size());
  request->encodings = std::move(encodings);
  std::future<Rows> future = request->promise.get_future();
  if (request->encodings.empty()) {
    request->promise.set_value({});
    return future;
  }
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) reject(kUnhealthy, "the server is shutting down");
    if (static_cast<int64_t>(queue_.size()) >= limits_.max_queue)
      reject(kOverloaded, "Model is overloaded: ", queue_.size(), " requests wait already (--max-queue ",
             limits_.max_queue, ")");
    queue_.push_back(std::move(request));
    if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
  }
  work_ready_.notify_one();
  return future;
}

void BatchScheduler::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t BatchScheduler::queued_requests() const {
  const std::lock_guard lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

void BatchScheduler::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    std::vector<Slot> batch = next_batch(lock);
    if (batch.empty()) return;
    lock.unlock();
    run_batch(batch);
    lock.lock();
  }
}

// Takes sequences of the first waiting request's kind, in arrival order,
// while they fit the token budget; requests of the other kind keep their
// place for the next batch.
std::vector<BatchScheduler::Slot> BatchScheduler::next_batch(std::unique_lock<std::mutex>& lock) {
  work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  std::vector<Slot> batch;
  if (queue_.empty()) return batch;
  const Head head = queue_.front()->head;
  int64_t tokens = 0;
  bool full = false;
  for (auto it = queue_.begin(); it != queue_.end() && !full;) {
    Request& request = **it;
    if (request.head != head) {
      ++it;
      continue;
    }
    if (request.next == 0 && metrics_)
      metrics_->queue_waited(std::chrono::duration<double>(Clock::now() - request.submitted).count());
    while (request.next < request.encodings.size()) {
      const int64_t length = static_cast<int64_t>(request.encodings[request.next].input_ids.size());
      if (!batch.empty() && tokens + length > limits_.max_batch_tokens) {
        full = true;
        break;
      }
      tokens += length;
      batch.push_back({*it, request.next++});
    }
    it = request.next == request.encodings.size() ? queue_.erase(it) : std::next(it);
  }
  if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
  return batch;
}

void BatchScheduler::run_batch(std::vector<Slot>& batch) {
  std::vector<Encoding> encodings;
  encodings.reserve(batch.size());
  int64_t tokens = 0;
  for (const Slot& slot : batch) {
    encodings.push_back(std::move(slot.request->encodings[slot.index]));
    tokens += static_cast<int64_t>(encodings.back().input_ids.size());
  }
  const int size = static_cast<int>(encodings.size());
  const Clock::time_point start = Clock::now();
  Rows rows;
  std::exception_ptr error;
  try {
    rows = batch.front().request->head == Head::Embedding ? model_.embed_encodings(encodings, size)
                                                          : model_.logits_for_encodings(encodings, size);
  } catch (...) {
    error = std::current_exception();
  }
  if (metrics_)
    metrics_->batch_ran(size, tokens, std::chrono::duration<double>(Clock::now() - start).count());
  for (size_t i = 0; i < batch.size(); ++i) {
    Request& request = *batch[i].request;
    if (request.failed) continue;
    if (error) {
      request.failed = true;
      request.promise.set_exception(error);
      continue;
    }
    request.rows[batch[i].index] = std::move(rows[i]);
    if (++request.finished == request.encodings.size()) request.promise.set_value(std::move(request.rows));
  }
}

}  // namespace qp::serve
