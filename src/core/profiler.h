// A per-op time profile of inference (`quantpipe bench --profile`): where the
// threads' time goes, GEMMs by layer role, attention's phases, norms,
// activations, activation quantization, and thread idle. Off by default: a
// Scope then costs one relaxed atomic load.
//
// Time is exclusive: a scope opened inside another pauses the outer one, so
// a quantized GEMM's activation quantization is not also counted as GEMM.
// Work a parallel_for hands to other threads is charged to the op open on the
// calling thread, and the time a thread of a parallel region waits for the
// others counts as thread idle.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace qp::profile {

enum class Op : uint8_t {
  None,     // not profiled (outside every scope)
  Forward,  // inside a forward pass, in no narrower scope
  Embedding,
  GemmQkv,
  GemmAttnOut,
  GemmFfnUp,
  GemmFfnDown,
  GemmOther,  // projections outside a layer: heads, bottlenecks, poolers
  AttentionScores,
  Softmax,
  AttentionValues,
  AttentionPack,  // packing keys and values for attention's GEMMs
  LayerNorm,
  Gelu,
  ActivationQuant,
  Pooling,
  ThreadIdle,
  kCount
};

std::string_view op_name(Op op);

void set_enabled(bool on);
bool enabled();
// Clears every total (call between warm-up and timed runs).
void reset();

struct Entry {
  Op op;
  double seconds;  // summed over threads
  int64_t calls;
};
// Totals since the last reset, in Op order, ops never seen left out.
std::vector<Entry> snapshot();

// The op this thread is in now (None when profiling is off).
Op current();

// Charges this thread's time to `op` until destroyed, then goes back to the
// enclosing op.
class Scope {
 public:
  explicit Scope(Op op) : Scope(op, true) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope();

 protected:
  Scope(Op op, bool count_call);

 private:
  Op saved_ = Op::None;
  bool active_ = false;
};

// A GEMM: keeps the role a caller's scope already gave it (GemmQkv …) and
// counts as GemmOther when no role scope is open.
class GemmScope : public Scope {
 public:
  GemmScope();
};

// A thread pool worker running part of a caller's job: charged to the
// caller's op, without counting a call.
class WorkerScope : public Scope {
 public:
  explicit WorkerScope(Op op) : Scope(op, false) {}
};

// Adds thread-idle time measured by a parallel region.
void add_idle_nanoseconds(int64_t ns);
// Monotonic nanoseconds, for the regions' own bookkeeping.
int64_t now_nanoseconds();

}  // namespace qp::profile
