#include "core/profiler.h"

#include <array>
#include <atomic>
#include <chrono>

namespace qp::profile {
namespace {

constexpr size_t kOps = static_cast<size_t>(Op::kCount);

std::atomic<bool> g_enabled{false};
std::array<std::atomic<int64_t>, kOps> g_nanoseconds{};
std::array<std::atomic<int64_t>, kOps> g_calls{};

thread_local Op t_op = Op::None;
thread_local int64_t t_since = 0;

// Credits this thread's time since the last switch to the op it was in.
void charge(int64_t now) {
  if (t_op != Op::None)
    g_nanoseconds[static_cast<size_t>(t_op)].fetch_add(now - t_since, std::memory_order_relaxed);
  t_since = now;
}

bool is_gemm_role(Op op) { return op >= Op::GemmQkv && op <= Op::GemmOther; }

// Names in Op order.
constexpr std::array<std::string_view, kOps> kNames = {
    "none",           "forward (other)", "embedding",  "gemm qkv",       "gemm attn_out",
    "gemm ffn_up",    "gemm ffn_down",   "gemm other", "attention q·kᵀ", "softmax",
    "attention p·v",  "attention pack",  "layer norm", "gelu",           "activation quantization",
    "pooling / head", "thread idle"};

}  // namespace

std::string_view op_name(Op op) { return kNames[static_cast<size_t>(op)]; }

void set_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

void reset() {
  for (size_t i = 0; i < kOps; ++i) {
    g_nanoseconds[i].store(0, std::memory_order_relaxed);
    g_calls[i].store(0, std::memory_order_relaxed);
  }
}

std::vector<Entry> snapshot() {
  std::vector<Entry> entries;
  for (size_t i = 1; i < kOps; ++i) {
    const int64_t ns = g_nanoseconds[i].load(std::memory_order_relaxed);
    const int64_t calls = g_calls[i].load(std::memory_order_relaxed);
    if (ns > 0 || calls > 0) entries.push_back({static_cast<Op>(i), static_cast<double>(ns) * 1e-9, calls});
  }
  return entries;
}

Op current() { return enabled() ? t_op : Op::None; }

int64_t now_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Scope::Scope(Op op, bool count_call) {
  if (!enabled() || op == Op::None) return;
  active_ = true;
  charge(now_nanoseconds());
  saved_ = t_op;
  t_op = op;
  if (count_call) g_calls[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed);
}

Scope::~Scope() {
  if (!active_) return;
  charge(now_nanoseconds());
  t_op = saved_;
}

GemmScope::GemmScope() : Scope(is_gemm_role(current()) ? Op::None : Op::GemmOther) {}

void add_idle_nanoseconds(int64_t ns) {
  if (ns <= 0) return;
  g_nanoseconds[static_cast<size_t>(Op::ThreadIdle)].fetch_add(ns, std::memory_order_relaxed);
}

}  // namespace qp::profile
