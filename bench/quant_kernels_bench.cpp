// QuantLinear benchmarks: forward() (activation quantization included) on
// MiniLM-L6 and BERT-base shapes per ISA, weight format and thread count, with
// LinearF32 at the same shapes for comparison, plus a register-only int8 dot
// loop per ISA (the peak each row is a fraction of). Counters are GOP/s
// (2·m·n·k per second, kIsRate).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench_data.h"
#include "core/cpu_isa.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/quant_dispatch.h"
#include "kernels/quant_linear.h"
#include "quant/pack.h"
#include "quant/quantize_ref.h"
#include "quant/scheme.h"

namespace qp::kernels {
namespace {

struct Shape {
  const char* name;
  int k, n;
};

constexpr Shape kShapes[] = {
    {"minilm_qkv", 384, 1152}, {"minilm_ffn_up", 384, 1536}, {"minilm_ffn_down", 1536, 384},
    {"bert_qkv", 768, 2304},   {"bert_ffn_up", 768, 3072},   {"bert_ffn_down", 3072, 768},
};

// "f32" runs LinearF32; the others are quantization schemes.
constexpr const char* kFormats[] = {"f32", "q8_sym_ch", "q8_affine_g64", "q4_affine_g64", "ternary_g64"};

using bench::random_normal;

std::unique_ptr<LinearLayer> make_layer(const std::string& format, const Shape& s,
                                        const std::vector<float>& w, const std::vector<float>& b) {
  if (format == "f32") return std::make_unique<LinearF32>(w.data(), s.n, s.k, b.data());
  const quant::QuantizedTensor q = quant::quantize_ref("w", w, s.n, s.k, quant::parse_scheme(format));
  const std::vector<uint8_t> codes = quant::unpack_codes(q.packed, q.bits, int64_t{s.n} * s.k);
  return std::make_unique<QuantLinear>(codes.data(), q.scales.data(), q.biases.data(), s.n, s.k, q.bits,
                                       q.group, b.data());
}

void bench_linear(benchmark::State& state, Isa isa, std::string format, Shape shape, int m, int threads) {
  set_isa_cap(isa);
  ThreadPool pool(threads);
  const auto w = random_normal(size_t(shape.n) * shape.k, 0.05f);
  const auto b = random_normal(shape.n, 0.1f);
  const auto x = random_normal(size_t(m) * shape.k, 1.0f);
  std::vector<float> y(size_t(m) * shape.n);
  const auto layer = make_layer(format, shape, w, b);
  for (auto _ : state) {
    layer->forward(x.data(), m, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * m * shape.n * shape.k;
  state.counters["GOP/s"] = benchmark::Counter(ops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(isa_name(isa)) + " " + layer->format());
}

void bench_int8_peak(benchmark::State& state, Isa isa) {
  const QuantKernelTable& table = quant_kernel_table(isa);
  constexpr int64_t kIterations = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(table.int8_peak(kIterations));
  const double ops = double(kIterations) * table.peak_ops_per_iteration;
  state.counters["GOP/s"] = benchmark::Counter(ops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

// Registers every case once at start-up, skipping ISAs this CPU lacks. The
// scalar reference runs only at m ≤ 128 on one thread
// (it would take minutes otherwise), and f32 only on the ISA rows (not twice
// for AMX, whose fp32 kernels are AVX-512's), as its
// scalar GEMM is not what the quantized one is compared with.
const bool kRegistered = [] {
  for (int i = 0; i <= static_cast<int>(detected_isa()) && i <= static_cast<int>(Isa::Amx); ++i) {
    const Isa isa = static_cast<Isa>(i);
    const std::string isa_str(isa_name(isa));
    if (quant_kernel_table(isa).int8_peak)
      benchmark::RegisterBenchmark(("int8_peak/" + isa_str).c_str(), bench_int8_peak, isa)->MinTime(0.1);
    for (const Shape& shape : kShapes)
      for (int m : {1, 128, 4096})
        for (const char* format : kFormats)
          for (int threads : {1, 2}) {
            if (isa == Isa::Scalar && (m > 128 || threads > 1 || std::string(format) == "f32")) continue;
            if (isa == Isa::Amx && std::string(format) == "f32") continue;  // AMX's fp32 is AVX-512's
            const std::string name = "qlinear/" + isa_str + "/" + format + "/" + shape.name + "/m" +
                                     std::to_string(m) + "/t" + std::to_string(threads);
            auto* b = benchmark::RegisterBenchmark(name.c_str(), bench_linear, isa, std::string(format),
                                                   shape, m, threads);
            b->Unit(m == 1 ? benchmark::kMicrosecond : benchmark::kMillisecond);
            // One thread: rate per CPU second, which shared cores disturb less;
            // two threads: wall time, the only honest measure of the split.
            if (threads > 1) b->UseRealTime();
          }
  }
  return true;
}();

}  // namespace
}  // namespace qp::kernels
