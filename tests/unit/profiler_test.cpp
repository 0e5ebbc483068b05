// The op profiler's bookkeeping: exclusive time for nested scopes, calls,
// GEMM scopes that keep the caller's role, work handed to pool threads charged
// to the caller's op, and nothing recorded while it is off.
#include "core/profiler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "core/thread_pool.h"

namespace qp::profile {
namespace {

// Busy work that takes a while on any machine, and cannot be optimized away.
double spin(int64_t iterations) {
  volatile double x = 1.0;
  for (int64_t i = 0; i < iterations; ++i) x = x * 1.0000001 + 1e-9;
  return x;
}

std::map<Op, Entry> totals() {
  std::map<Op, Entry> by_op;
  for (const Entry& e : snapshot()) by_op[e.op] = e;
  return by_op;
}

// Turns the profiler on for one test and off again, whatever happens.
struct Profiling {
  Profiling() {
    reset();
    set_enabled(true);
  }
  ~Profiling() {
    set_enabled(false);
    reset();
  }
};

TEST(Profiler, RecordsNothingWhileOff) {
  reset();
  {
    const Scope scope(Op::LayerNorm);
    spin(100000);
  }
  EXPECT_TRUE(snapshot().empty());
  EXPECT_EQ(current(), Op::None);
}

TEST(Profiler, NestedScopesCountExclusiveTime) {
  const Profiling on;
  {
    const Scope outer(Op::GemmFfnUp);
    for (int i = 0; i < 3; ++i) {
      const Scope inner(Op::ActivationQuant);
      EXPECT_EQ(current(), Op::ActivationQuant);
      spin(2000000);
    }
    EXPECT_EQ(current(), Op::GemmFfnUp);
  }
  EXPECT_EQ(current(), Op::None);
  const auto t = totals();
  ASSERT_TRUE(t.count(Op::GemmFfnUp) && t.count(Op::ActivationQuant));
  EXPECT_EQ(t.at(Op::GemmFfnUp).calls, 1);
  EXPECT_EQ(t.at(Op::ActivationQuant).calls, 3);
  // The outer scope did almost nothing itself: the spinning belongs to the inner one.
  EXPECT_LT(t.at(Op::GemmFfnUp).seconds, t.at(Op::ActivationQuant).seconds);
}

TEST(Profiler, GemmScopeKeepsTheCallersRole) {
  const Profiling on;
  {
    const Scope role(Op::GemmQkv);
    const GemmScope gemm;
    EXPECT_EQ(current(), Op::GemmQkv);
  }
  {
    const GemmScope gemm;  // no role around it
    EXPECT_EQ(current(), Op::GemmOther);
  }
  const auto t = totals();
  EXPECT_EQ(t.at(Op::GemmQkv).calls, 1);
  EXPECT_EQ(t.at(Op::GemmOther).calls, 1);
}

TEST(Profiler, PoolThreadsWorkForTheCallersOpAndTheirWaitIsIdle) {
  const Profiling on;
  ThreadPool pool(2);
  std::atomic<int> workers_in_softmax{0};
  {
    const Scope scope(Op::Softmax);
    // Chunk 0 (the caller's) spins long, chunk 1 (the worker's) briefly, so
    // the worker waits for the caller: idle time.
    pool.parallel_for(2, [&](int64_t begin, int64_t) {
      if (current() == Op::Softmax) workers_in_softmax.fetch_add(1);
      spin(begin == 0 ? 20000000 : 100000);
    });
  }
  EXPECT_EQ(workers_in_softmax.load(), 2);  // both chunks ran under the caller's op
  const auto t = totals();
  EXPECT_EQ(t.at(Op::Softmax).calls, 1);  // the worker's share is not a call of its own
  ASSERT_TRUE(t.count(Op::ThreadIdle));
  EXPECT_GT(t.at(Op::ThreadIdle).seconds, 0.0);
  EXPECT_EQ(current(), Op::None);
}

}  // namespace
}  // namespace qp::profile
