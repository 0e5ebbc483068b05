// Row-op benchmarks per ISA, one thread, data in L1/L2 as inside a layer:
// GELU (the FFN epilogue), the attention softmax (rows of 128 keys, as MiniLM
// at 128 tokens), LayerNorm over hidden 384 and the per-token activation
// quantization in front of every quantized GEMM. Counter: elements/s, so the
// profile's milliseconds can be read as elements × ns per element.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_data.h"
#include "core/cpu_isa.h"
#include "kernels/dispatch.h"
#include "kernels/quant_dispatch.h"

namespace qp::kernels {
namespace {

constexpr int kRows = 64;  // one attention query block / one token block

using bench::random_normal;

void set_rate(benchmark::State& state, int64_t elements_per_iteration) {
  state.counters["elements/s"] = benchmark::Counter(
      static_cast<double>(elements_per_iteration) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void bench_gelu(benchmark::State& state, Isa isa, int cols) {
  const KernelTable& table = kernel_table(isa);
  const auto source = random_normal(size_t(kRows) * cols, 2.0f);
  std::vector<float> x(source.size());
  for (auto _ : state) {
    std::copy(source.begin(), source.end(), x.begin());
    table.gelu(x.data(), static_cast<int64_t>(x.size()));
    benchmark::DoNotOptimize(x.data());
  }
  set_rate(state, int64_t{kRows} * cols);
}

void bench_softmax(benchmark::State& state, Isa isa, int keys) {
  const KernelTable& table = kernel_table(isa);
  const auto source = random_normal(size_t(kRows) * keys, 4.0f);
  std::vector<float> x(source.size());
  for (auto _ : state) {
    std::copy(source.begin(), source.end(), x.begin());
    for (int r = 0; r < kRows; ++r) table.softmax_row(x.data() + size_t(r) * keys, keys, 0.17f);
    benchmark::DoNotOptimize(x.data());
  }
  set_rate(state, int64_t{kRows} * keys);
}

void bench_layer_norm(benchmark::State& state, Isa isa, int cols) {
  const KernelTable& table = kernel_table(isa);
  const auto x = random_normal(size_t(kRows) * cols, 1.0f), residual = random_normal(x.size(), 1.0f);
  const auto gamma = random_normal(cols, 1.0f), beta = random_normal(cols, 1.0f);
  std::vector<float> out(x.size());
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r)
      table.layer_norm_row(x.data() + size_t(r) * cols, residual.data() + size_t(r) * cols,
                           out.data() + size_t(r) * cols, cols, gamma.data(), beta.data(), 1e-12f);
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, int64_t{kRows} * cols);
}

void bench_quantize(benchmark::State& state, Isa isa, int cols) {
  const QuantKernelTable& table = quant_kernel_table(isa);
  const auto x = random_normal(size_t(kRows) * cols, 1.0f);
  const int mr = table.interleaved_activations ? table.mr : 1;
  std::vector<int8_t> xq(size_t(kRows) * cols);
  std::vector<float> sums(size_t(kRows) * cols / 64);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) {
      int8_t* dst = xq.data() + size_t(r / mr) * mr * cols + (r % mr) * 4;
      benchmark::DoNotOptimize(table.quantize_row(x.data() + size_t(r) * cols, cols, 64, dst,
                                                  sums.data() + r * (cols / 64), 4 * mr));
    }
    benchmark::DoNotOptimize(xq.data());
  }
  set_rate(state, int64_t{kRows} * cols);
}

const bool kRegistered = [] {
  for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) {
    const Isa isa = static_cast<Isa>(i);
    const std::string name(isa_name(isa));
    if (isa == Isa::Amx) continue;  // AMX runs the AVX-512 row ops and activation quantization
    benchmark::RegisterBenchmark(("ops/gelu/" + name + "/1536").c_str(), bench_gelu, isa, 1536);
    benchmark::RegisterBenchmark(("ops/softmax/" + name + "/128").c_str(), bench_softmax, isa, 128);
    benchmark::RegisterBenchmark(("ops/layer_norm/" + name + "/384").c_str(), bench_layer_norm, isa, 384);
    if (quant_kernel_table(isa).gemm_tile)
      for (int cols : {384, 1536})
        benchmark::RegisterBenchmark(("ops/quantize/" + name + "/" + std::to_string(cols)).c_str(),
                                     bench_quantize, isa, cols);
  }
  return true;
}();

}  // namespace
}  // namespace qp::kernels
