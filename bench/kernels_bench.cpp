// fp32 kernel benchmarks: LinearF32::forward on MiniLM-L6 and BERT-base
// shapes per ISA and thread count, plus a register-only FMA loop per ISA that
// gives the peak to compare against. Counters are GFLOP/s (kIsRate).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace qp::kernels {
namespace {

struct LinearShape {
  const char* name;
  int k, n;
};

constexpr LinearShape kShapes[] = {
    {"minilm_attn_out", 384, 384},  {"minilm_qkv", 384, 1152},    {"minilm_ffn_up", 384, 1536},
    {"minilm_ffn_down", 1536, 384}, {"bert_attn_out", 768, 768},  {"bert_qkv", 768, 2304},
    {"bert_ffn_up", 768, 3072},     {"bert_ffn_down", 3072, 768},
};

std::vector<float> random_floats(size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void bench_linear(benchmark::State& state, Isa isa, LinearShape shape, int m, int threads) {
  set_isa_cap(isa);
  ThreadPool pool(threads);
  const auto w = random_floats(size_t(shape.n) * shape.k);
  const auto b = random_floats(shape.n);
  const auto x = random_floats(size_t(m) * shape.k);
  std::vector<float> y(size_t(m) * shape.n);
  const LinearF32 linear(w.data(), shape.n, shape.k, b.data());
  for (auto _ : state) {
    linear.forward(x.data(), m, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * m * shape.n * shape.k;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(isa_name(linear.isa())));
}

void bench_peak(benchmark::State& state, Isa isa) {
  const KernelTable& table = kernel_table(isa);
  constexpr int64_t kIterations = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(table.fma_peak(kIterations));
  const double flops = double(kIterations) * table.peak_flops_per_iteration;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

// Registers every case once at start-up, skipping ISAs this CPU lacks (the
// scalar reference only at m = 128: m = 4096 would take minutes per shape).
const bool kRegistered = [] {
  for (int i = 0; i <= static_cast<int>(detected_isa()) && i <= static_cast<int>(Isa::Avx512); ++i) {
    const Isa isa = static_cast<Isa>(i);
    const std::string isa_str(isa_name(isa));
    benchmark::RegisterBenchmark(("fma_peak/" + isa_str).c_str(), bench_peak, isa)->MinTime(0.1);
    for (const LinearShape& shape : kShapes)
      for (int m : {128, 4096})
        for (int threads : {1, 2}) {
          if (isa == Isa::Scalar && m > 128) continue;
          const std::string name = "linear/" + isa_str + "/" + shape.name + "/m" + std::to_string(m) + "/t" +
                                   std::to_string(threads);
          auto* b = benchmark::RegisterBenchmark(name.c_str(), bench_linear, isa, shape, m, threads);
          b->MinTime(0.2)->Unit(benchmark::kMillisecond);
          // One thread: rate per CPU second, which shared cores disturb less;
          // two threads: wall time, the only honest measure of the split.
          if (threads > 1) b->UseRealTime();
        }
  }
  return true;
}();

}  // namespace
}  // namespace qp::kernels
