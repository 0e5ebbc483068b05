// Attention time against sequence length, in ModernBERT-large's shape (16
// heads × 64, local window 128): global attention, local attention with the
// banded kernel, and local attention done the O(n²) way (the whole score
// matrix, then a mask), at 128, 512, 2048 and 8192 tokens, on the best ISA
// here (at 128 the window covers the whole sequence).
// Global and masked grow ~4× per doubling of n; banded local grows ~2×.
// Then DeBERTa-v3-base's biased attention (12 heads × 64, c2p + p2c over
// 2 × 256 relative positions) at 128, 512 and 2048 tokens on one thread.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "models/score_bias.h"

namespace qp::kernels {
namespace {

constexpr int kHeads = 16, kHeadDim = 64, kHalfWindow = 64;

enum class Kind { Global, LocalBanded, LocalMasked };

void bench_attention(benchmark::State& state, Kind kind, int tokens, int threads) {
  ThreadPool pool(threads);
  const int width = kHeads * kHeadDim, ld = 3 * width;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> qkv(static_cast<size_t>(tokens) * ld);
  for (float& x : qkv) x = dist(rng);
  std::vector<float> out(static_cast<size_t>(tokens) * width);
  const std::vector<int32_t> offsets = {0, tokens};
  const float scale = 0.125f;
  const ScoreBias mask = [tokens](int64_t, int, int first_query, int query_count, float* scores) {
    for (int r = 0; r < query_count; ++r)
      for (int j = 0; j < tokens; ++j)
        if (std::abs(first_query + r - j) > kHalfWindow)
          scores[static_cast<size_t>(r) * tokens + j] = std::numeric_limits<float>::lowest();
  };
  const float *q = qkv.data(), *k = q + width, *v = q + 2 * width;
  for (auto _ : state) {
    if (kind == Kind::LocalBanded)
      local_attention(q, k, v, ld, out.data(), width, offsets, kHeads, kHeadDim, scale, kHalfWindow, pool);
    else
      attention(q, k, v, ld, out.data(), width, offsets, kHeads, kHeadDim, scale, pool,
                kind == Kind::LocalMasked ? mask : ScoreBias{});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(isa_name(kernel_isa())));
}

// DeBERTa-v3-base: 12 heads × 64, position_buckets 256, max_relative_positions
// 512, the relative embeddings' projections random.
void bench_deberta(benchmark::State& state, int tokens, int threads) {
  constexpr int heads = 12, head_dim = 64, span = 256, max_relative = 512;
  ThreadPool pool(threads);
  const int width = heads * head_dim, ld = 3 * width;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> qkv(static_cast<size_t>(tokens) * ld), positions(2 * span * 2 * width);
  for (float& x : qkv) x = dist(rng);
  for (float& x : positions) x = dist(rng);
  std::vector<float> out(static_cast<size_t>(tokens) * width);
  const std::vector<int32_t> offsets = {0, tokens};
  const float scale = 1.0f / std::sqrt(head_dim * 3.0f);
  const float *q = qkv.data(), *k = q + width, *v = q + 2 * width;
  const DebertaBiasInputs in{q, k, ld, positions.data(), positions.data() + width, 2 * width, head_dim, span};
  const std::vector<int32_t> rel = deberta_positions_saturated(span, max_relative, span);
  const ScoreBias bias = [&](int64_t, int head, int first_query, int query_count, float* scores) {
    add_deberta_score_bias(in, head, rel, tokens, first_query, query_count, scale, scores);
  };
  for (auto _ : state) {
    attention(q, k, v, ld, out.data(), width, offsets, heads, head_dim, scale, pool, bias);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(isa_name(kernel_isa())));
}

const bool kRegistered = [] {
  const struct {
    const char* name;
    Kind kind;
  } kinds[] = {
      {"global", Kind::Global}, {"local_banded", Kind::LocalBanded}, {"local_masked", Kind::LocalMasked}};
  for (const auto& kind : kinds)
    for (int tokens : {128, 512, 2048, 8192}) {
      const std::string name = std::string("attention/") + kind.name + "/n" + std::to_string(tokens) + "/t2";
      benchmark::RegisterBenchmark(name.c_str(), bench_attention, kind.kind, tokens, 2)
          ->MinTime(0.3)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  for (int tokens : {128, 512, 2048}) {
    const std::string name = "attention/deberta_biased/n" + std::to_string(tokens) + "/t1";
    benchmark::RegisterBenchmark(name.c_str(), bench_deberta, tokens, 1)
        ->MinTime(0.3)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace qp::kernels
