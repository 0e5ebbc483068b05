#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "core/error.h"

namespace qp {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int max_threads() { return std::max(256, hardware_threads()); }

void check_thread_count(int threads, std::string_view what) {
  if (threads < 0 || threads > max_threads())
    fail(what, " ", threads, ": expected 0 (all hardware threads) to ", max_threads());
}

ThreadPool::ThreadPool(int threads) {
  check_thread_count(threads, "thread count");
  const int total = threads > 0 ? threads : hardware_threads();
  workers_.reserve(static_cast<size_t>(total - 1));
  try {
    for (int i = 1; i < total; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::exception& e) {
    // The destructor will not run: the started workers wait on members that
    // are about to be destroyed, so stop and join them here, then report.
    const size_t started = workers_.size();
    stop_workers();
    fail("cannot start ", total, " threads: the system refused thread ", started + 2, " (", e.what(),
         "); ask for fewer threads");
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_)
    if (worker.joinable()) worker.join();
}

namespace {
// Chunks per thread a range is cut into. Threads claim chunks as they finish
// the previous one, so a thread slowed down by other jobs on a shared core
// takes fewer of them instead of keeping the rest waiting at the end; more
// chunks balance better and cost one atomic increment each.
constexpr int64_t kChunksPerThread = 8;
}  // namespace

void ThreadPool::run_chunks() {
  const std::function<void(int64_t, int64_t)>& fn = *job_;
  for (;;) {
    const int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
    if (begin >= job_size_) return;
    fn(begin, std::min(job_size_, begin + grain_));
  }
}

namespace {

// How long a worker keeps watching for the next job, and the caller for the
// workers' end, before sleeping on the condition variable. A forward pass
// hands out a job every few to few hundred microseconds (each op of each
// layer), and waking a sleeping thread took ≈ 50 µs on the 2-core VMs, longer
// than a batch-1 op; spinning for that long instead costs the idle thread's
// core only between jobs that come this close together.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

// The pool whose job this thread is running now (a worker, or a caller inside
// its own chunk); nested calls on it run serially.
thread_local const ThreadPool* running_pool = nullptr;

struct RunningPool {
  explicit RunningPool(const ThreadPool* pool) : saved(running_pool) { running_pool = pool; }
  ~RunningPool() { running_pool = saved; }
  const ThreadPool* saved;
};
}  // namespace

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1 || running_pool == this) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> turn(run_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    grain_ = std::max<int64_t>(1, n / (kChunksPerThread * size()));
    next_.store(0, std::memory_order_relaxed);
    job_profiled_ = profile::enabled();
    job_op_ = profile::current();
    job_busy_ns_ = 0;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  const int64_t region_start = job_profiled_ ? profile::now_nanoseconds() : 0;
  work_ready_.notify_all();
  std::exception_ptr error;
  try {
    const RunningPool running(this);
    run_chunks();
  } catch (...) {
    error = std::current_exception();  // the workers still hold &fn: wait for them first
  }
  {
    const profile::WorkerScope waiting(job_profiled_ ? profile::Op::ThreadIdle : profile::Op::None);
    spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (job_profiled_) {
      const int64_t wall = profile::now_nanoseconds() - region_start;
      profile::add_idle_nanoseconds(static_cast<int64_t>(workers_.size()) * wall - job_busy_ns_);
    }
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker_loop() {
  const RunningPool running(this);
  int64_t seen_generation = 0;
  for (;;) {
    bool profiled;
    profile::Op op;
    {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen_generation; });
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
      profiled = job_profiled_;
      op = job_op_;
    }
    const int64_t start = profiled ? profile::now_nanoseconds() : 0;
    {
      const profile::WorkerScope scope(profiled ? op : profile::Op::None);
      run_chunks();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (profiled) job_busy_ns_ += profile::now_nanoseconds() - start;
      if (pending_.fetch_sub(1, std::memory_order_release) == 1) work_done_.notify_one();
    }
  }
}

}  // namespace qp
