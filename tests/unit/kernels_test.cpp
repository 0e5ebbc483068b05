// Kernel tests: every ISA this CPU has against the scalar reference, and the
// scalar reference against double-precision arithmetic.
#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <random>
#include <vector>

#include "core/cpu_isa.h"
#include "core/thread_pool.h"

namespace qp::kernels {
namespace {

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) isas.push_back(static_cast<Isa>(i));
  return isas;
}

// Restores the ISA cap a test found, whatever the test switched to.
class IsaCapGuard {
 public:
  IsaCapGuard() : saved_(active_isa()) {}
  ~IsaCapGuard() { set_isa_cap(saved_); }

 private:
  Isa saved_;
};

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double gelu_double(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// y = x·Wᵀ + b (then GELU) in double.
std::vector<double> linear_double(const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& b, int m, int n, int k, bool gelu) {
  std::vector<double> y(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int kk = 0; kk < k; ++kk) s += double(x[size_t(i) * k + kk]) * w[size_t(j) * k + kk];
      s += b[j];
      y[size_t(i) * n + j] = gelu ? gelu_double(s) : s;
    }
  return y;
}

// Largest |a − ref| over the arrays, and the largest |ref|.
template <typename A, typename R>
std::pair<double, double> max_diff(const std::vector<A>& a, const std::vector<R>& ref) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(ref[i])));
    mag = std::max(mag, std::fabs(double(ref[i])));
  }
  return {diff, mag};
}

struct Shape {
  int m, n, k;
};

std::vector<Shape> gemm_shapes() {
  std::vector<Shape> shapes;
  for (int m : {1, 3, 17, 129})
    for (int n : {1, 7, 33, 384, 1152})
      for (int k : {1, 5, 64, 384, 1536}) shapes.push_back({m, n, k});
  shapes.push_back({40, 3072, 768});  // BERT-base FFN: k split into slices
  return shapes;
}

TEST(Kernels, LinearMatchesDoubleOnEveryIsa) {
  IsaCapGuard guard;
  ThreadPool pool(3);
  uint32_t seed = 1;
  for (const Shape& s : gemm_shapes()) {
    const auto x = random_floats(size_t(s.m) * s.k, seed++);
    const auto w = random_floats(size_t(s.n) * s.k, seed++);
    const auto b = random_floats(s.n, seed++);
    const bool gelu = (s.m + s.n + s.k) % 2 == 0;
    const auto ref = linear_double(x, w, b, s.m, s.n, s.k, gelu);
    std::vector<float> scalar_y;
    for (Isa isa : available_isas()) {
      set_isa_cap(isa);
      const LinearF32 linear(w.data(), s.n, s.k, b.data());
      std::vector<float> y(ref.size(), NAN);
      linear.forward(x.data(), s.m, y.data(), pool, gelu ? Epilogue::Gelu : Epilogue::None);
      const auto [diff, mag] = max_diff(y, ref);
      // fp32 rounding grows like √k relative to the output magnitude.
      const double budget = 1e-6 * std::sqrt(double(s.k)) * std::max(1.0, mag);
      EXPECT_LE(diff, budget) << isa_name(isa) << " m=" << s.m << " n=" << s.n << " k=" << s.k;
      if (isa == Isa::Scalar) {
        scalar_y = y;
      } else {
        const auto [d, m] = max_diff(y, scalar_y);
        EXPECT_LE(d, budget) << isa_name(isa) << " vs scalar m=" << s.m << " n=" << s.n << " k=" << s.k;
      }
    }
  }
}

TEST(Kernels, LinearWithoutBiasAndEmptyDepth) {
  IsaCapGuard guard;
  ThreadPool pool(2);
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    const auto w = random_floats(7 * 5, 3);
    const auto x = random_floats(3 * 5, 4);
    const LinearF32 linear(w.data(), 7, 5, nullptr);
    std::vector<float> y(21);
    linear.forward(x.data(), 3, y.data(), pool);
    const auto ref = linear_double(x, w, std::vector<float>(7, 0.0f), 3, 7, 5, false);
    EXPECT_LE(max_diff(y, ref).first, 1e-6) << isa_name(isa);
    const std::vector<float> bias = {1.5f, -2.0f};
    const LinearF32 empty(nullptr, 2, 0, bias.data());
    std::vector<float> z(4, NAN);
    empty.forward(nullptr, 2, z.data(), pool);
    EXPECT_EQ(z, (std::vector<float>{1.5f, -2.0f, 1.5f, -2.0f})) << isa_name(isa);
  }
}

TEST(Kernels, GeluMatchesErfFormula) {
  IsaCapGuard guard;
  ThreadPool pool(2);
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(i * 6e-5f);  // dense over [-12, 12]
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 1e4f, -1e4f}) x.push_back(v);
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    for (size_t n : {size_t(1), size_t(7), size_t(33), x.size()}) {
      std::vector<float> y(x.begin(), x.begin() + n);
      gelu(y.data(), int64_t(n), pool);
      double worst = 0;
      for (size_t i = 0; i < n; ++i) {
        const double err = std::fabs(y[i] - gelu_double(x[i])) / std::max(1.0, std::fabs(double(x[i])));
        worst = std::max(worst, err);
      }
      EXPECT_LE(worst, 3e-7) << isa_name(isa) << " n=" << n;
    }
  }
}

std::vector<double> layer_norm_double(const std::vector<float>& x, const std::vector<float>& res, int rows,
                                      int cols, const std::vector<float>& g, const std::vector<float>& b,
                                      double eps) {
  std::vector<double> out(x.size());
  for (int r = 0; r < rows; ++r) {
    std::vector<double> v(cols);
    double mean = 0, var = 0;
    for (int c = 0; c < cols; ++c)
      mean += v[c] = double(x[r * cols + c]) + (res.empty() ? 0 : res[r * cols + c]);
    mean /= cols;
    for (double e : v) var += (e - mean) * (e - mean);
    const double inv = 1 / std::sqrt(var / cols + eps);
    for (int c = 0; c < cols; ++c) out[r * cols + c] = (v[c] - mean) * inv * g[c] + b[c];
  }
  return out;
}

TEST(Kernels, AddLayerNormMatchesDouble) {
  IsaCapGuard guard;
  ThreadPool pool(2);
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    for (int cols : {1, 7, 33, 384, 768}) {
      for (bool with_residual : {false, true}) {
        const int rows = 5;
        auto x = random_floats(size_t(rows) * cols, cols, -3.0f, 5.0f);  // offset mean on purpose
        const auto res = with_residual ? random_floats(x.size(), cols + 1) : std::vector<float>();
        const auto g = random_floats(cols, 7, 0.5f, 1.5f), b = random_floats(cols, 8);
        const auto ref = layer_norm_double(x, res, rows, cols, g, b, 1e-12);
        add_layer_norm(x.data(), with_residual ? res.data() : nullptr, x.data(), rows, cols, g.data(),
                       b.data(), 1e-12f, pool);  // in place: out aliases x
        EXPECT_LE(max_diff(x, ref).first, 1e-5) << isa_name(isa) << " cols=" << cols;
      }
    }
  }
}

// A score bias by (sequence, head, query, key), positions within the sequence.
using BiasFn = std::function<double(int64_t seq, int head, int query, int key)>;

// Naive attention in double for the packed batch; with half_window ≥ 0 a
// query sees only the keys at most that far away in its sequence; `bias`,
// when given, is added to the scaled scores.
std::vector<double> attention_double(const std::vector<float>& q, const std::vector<float>& k,
                                     const std::vector<float>& v, int ld_in, int ld_out,
                                     const std::vector<int32_t>& offsets, int heads, int hd, double scale,
                                     int half_window = -1, const BiasFn& bias = {}) {
  std::vector<double> out(size_t(offsets.back()) * ld_out, 0.0);
  for (size_t s = 0; s + 1 < offsets.size(); ++s)
    for (int h = 0; h < heads; ++h)
      for (int i = offsets[s]; i < offsets[s + 1]; ++i) {
        std::vector<double> p;
        for (int j = offsets[s]; j < offsets[s + 1]; ++j) {
          if (half_window >= 0 && std::abs(i - j) > half_window) {
            p.push_back(-INFINITY);
            continue;
          }
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += double(q[i * ld_in + h * hd + d]) * k[j * ld_in + h * hd + d];
          p.push_back(dot * scale + (bias ? bias(s, h, i - offsets[s], j - offsets[s]) : 0.0));
        }
        const double mx = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (double& e : p) sum += e = std::exp(e - mx);
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (size_t j = 0; j < p.size(); ++j) acc += p[j] / sum * v[(offsets[s] + j) * ld_in + h * hd + d];
          out[size_t(i) * ld_out + h * hd + d] = acc;
        }
      }
  return out;
}

TEST(Kernels, AttentionOverPackedSequences) {
  IsaCapGuard guard;
  ThreadPool pool(3);
  const std::vector<int32_t> offsets = {0, 1, 6, 134, 167};  // lengths 1, 5, 128, 33
  for (int hd : {32, 64}) {
    const int heads = 3, ld_in = heads * hd + 16, ld_out = heads * hd;  // ld_in > width, as in fused QKV
    const size_t t = offsets.back();
    const auto q = random_floats(t * ld_in, hd, -2.0f, 2.0f);
    const auto k = random_floats(t * ld_in, hd + 1, -2.0f, 2.0f);
    const auto v = random_floats(t * ld_in, hd + 2);
    const double scale = 1.0 / std::sqrt(double(hd));
    const auto ref = attention_double(q, k, v, ld_in, ld_out, offsets, heads, hd, scale);
    for (Isa isa : available_isas()) {
      set_isa_cap(isa);
      std::vector<float> out(t * ld_out, NAN);
      attention(q.data(), k.data(), v.data(), ld_in, out.data(), ld_out, offsets, heads, hd, float(scale),
                pool);
      EXPECT_LE(max_diff(out, ref).first, 2e-6) << isa_name(isa) << " head_dim=" << hd;
    }
  }
}

// The banded kernel against masked naive attention: windows from none (0)
// to wider than every sequence, lengths around the 64-query block.
TEST(Kernels, LocalAttentionMatchesMaskedAttention) {
  IsaCapGuard guard;
  ThreadPool pool(3);
  const std::vector<int32_t> offsets = {0, 1, 6, 70, 135, 335, 635};  // lengths 1, 5, 64, 65, 200, 300
  const int hd = 32, heads = 2, ld_in = heads * hd + 8, ld_out = heads * hd;
  const size_t t = offsets.back();
  const auto q = random_floats(t * ld_in, 31, -2.0f, 2.0f);
  const auto k = random_floats(t * ld_in, 32, -2.0f, 2.0f);
  const auto v = random_floats(t * ld_in, 33);
  const double scale = 1.0 / std::sqrt(double(hd));
  for (int half_window : {0, 1, 7, 64, 100, 1000}) {
    const auto ref = attention_double(q, k, v, ld_in, ld_out, offsets, heads, hd, scale, half_window);
    for (Isa isa : available_isas()) {
      set_isa_cap(isa);
      std::vector<float> out(t * ld_out, NAN);
      local_attention(q.data(), k.data(), v.data(), ld_in, out.data(), ld_out, offsets, heads, hd,
                      float(scale), half_window, pool);
      EXPECT_LE(max_diff(out, ref).first, 2e-6) << isa_name(isa) << " half_window=" << half_window;
    }
  }
  // A window at least as long as the sequences is global attention, bit for bit.
  set_isa_cap(detected_isa());
  std::vector<float> local(t * ld_out), global(t * ld_out);
  local_attention(q.data(), k.data(), v.data(), ld_in, local.data(), ld_out, offsets, heads, hd, float(scale),
                  300, pool);
  attention(q.data(), k.data(), v.data(), ld_in, global.data(), ld_out, offsets, heads, hd, float(scale),
            pool);
  EXPECT_EQ(local, global);
}

// Queries in one buffer and keys / values side by side in another, each
// with its own row stride (cross-attention), against the same naive attention.
TEST(Kernels, AttentionWithSeparateQueryAndKeyValueStrides) {
  IsaCapGuard guard;
  ThreadPool pool(3);
  const std::vector<int32_t> offsets = {0, 3, 40, 57};
  const int hd = 16, heads = 3, width = heads * hd, ld_in = width, ld_q = width, ld_kv = 2 * width + 8;
  const size_t t = offsets.back();
  const auto q = random_floats(t * ld_in, 21, -2.0f, 2.0f);
  const auto k = random_floats(t * ld_in, 22, -2.0f, 2.0f);
  const auto v = random_floats(t * ld_in, 23);
  const double scale = 1.0 / std::sqrt(double(hd));
  const auto ref = attention_double(q, k, v, ld_in, width, offsets, heads, hd, scale);
  std::vector<float> kv(t * ld_kv, NAN);
  for (size_t r = 0; r < t; ++r)
    for (int c = 0; c < width; ++c) {
      kv[r * ld_kv + c] = k[r * ld_in + c];
      kv[r * ld_kv + width + c] = v[r * ld_in + c];
    }
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    std::vector<float> out(t * width, NAN);
    attention(q.data(), ld_q, kv.data(), kv.data() + width, ld_kv, out.data(), width, offsets, heads, hd,
              float(scale), pool);
    EXPECT_LE(max_diff(out, ref).first, 2e-6) << isa_name(isa);
  }
}

// A pseudo-random bias in [−2, 2] per (sequence, head, query, key), as the
// float a hook adds, with about one key in eleven masked (−inf), never the
// query's own.
double test_bias(int64_t seq, int head, int query, int key) {
  if (query != key && (query * 7 + key * 3 + head + seq) % 11 == 0) return -INFINITY;
  uint32_t x = static_cast<uint32_t>(((seq * 131 + head) * 7919 + query) * 104729 + key);
  x ^= x >> 16;
  x *= 0x45d9f3bu;
  x ^= x >> 16;
  return static_cast<float>(static_cast<int>(x % 4001) / 1000.0 - 2.0);
}

// Biased attention runs in blocks of queries; against the whole score matrix
// in double, for lengths around the 64-query block. The hook must see every
// query row of every (sequence, head) exactly once, at most 64 rows a call.
TEST(Kernels, BiasedAttentionInQueryBlocksMatchesTheWholeMatrix) {
  IsaCapGuard guard;
  ThreadPool pool(3);
  const std::vector<int32_t> offsets = {0, 1, 64, 128, 193, 393, 693};  // lengths 1, 63, 64, 65, 200, 300
  const int hd = 32, heads = 2, ld_in = heads * hd + 8, ld_out = heads * hd;
  const size_t t = offsets.back();
  const auto q = random_floats(t * ld_in, 41, -2.0f, 2.0f);
  const auto k = random_floats(t * ld_in, 42, -2.0f, 2.0f);
  const auto v = random_floats(t * ld_in, 43);
  const double scale = 1.0 / std::sqrt(double(hd));
  const auto ref = attention_double(q, k, v, ld_in, ld_out, offsets, heads, hd, scale, -1, test_bias);
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    std::mutex mutex;
    std::vector<int> seen(t * heads, 0);
    int bad_blocks = 0;
    const ScoreBias bias = [&](int64_t s, int h, int first_query, int query_count, float* scores) {
      const int len = offsets[s + 1] - offsets[s];
      for (int r = 0; r < query_count; ++r)
        for (int j = 0; j < len; ++j)
          scores[static_cast<size_t>(r) * len + j] += static_cast<float>(test_bias(s, h, first_query + r, j));
      const std::lock_guard lock(mutex);
      if (query_count < 1 || query_count > 64 || first_query < 0 || first_query + query_count > len)
        ++bad_blocks;
      for (int r = 0; r < query_count; ++r) ++seen[(offsets[s] + first_query + r) * heads + h];
    };
    std::vector<float> out(t * ld_out, NAN);
    attention(q.data(), k.data(), v.data(), ld_in, out.data(), ld_out, offsets, heads, hd, float(scale), pool,
              bias);
    const auto [diff, magnitude] = max_diff(out, ref);
    EXPECT_LE(diff, 2e-6 * magnitude) << isa_name(isa);
    EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](float x) { return std::isnan(x); })) << isa_name(isa);
    EXPECT_EQ(bad_blocks, 0) << isa_name(isa);
    EXPECT_EQ(seen, std::vector<int>(t * heads, 1)) << isa_name(isa);
  }
}

TEST(Kernels, IsaCapPicksKernels) {
  IsaCapGuard guard;
  ThreadPool pool(1);
  const auto w = random_floats(33 * 64, 9);
  const auto x = random_floats(17 * 64, 10);
  std::vector<std::vector<float>> outputs;
  std::vector<LinearF32> layers;
  for (Isa isa : available_isas()) {
    set_isa_cap(isa);
    const Isa expected = isa == Isa::Amx ? Isa::Avx512 : isa;  // AMX has no fp32 path
    EXPECT_EQ(kernel_isa(), expected);
    layers.emplace_back(w.data(), 33, 64, nullptr);
    EXPECT_EQ(layers.back().isa(), expected);
  }
  // A layer keeps the kernels it was packed for after the cap changes.
  set_isa_cap(Isa::Scalar);
  std::vector<float> scalar_y(17 * 33);
  layers.front().forward(x.data(), 17, scalar_y.data(), pool);
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].isa(), i == 3 ? Isa::Avx512 : static_cast<Isa>(i));
    std::vector<float> y(17 * 33);
    layers[i].forward(x.data(), 17, y.data(), pool);
    EXPECT_LE(max_diff(y, scalar_y).first, 1e-5);
  }
  EXPECT_EQ(isa_from_name("avx2"), Isa::Avx2);
  EXPECT_FALSE(isa_from_name("sse9").has_value());
}

}  // namespace
}  // namespace qp::kernels

namespace qp::kernels {
namespace {

// Which elements are NaN.
std::vector<bool> nan_mask(const std::vector<float>& values) {
  std::vector<bool> mask;
  for (float v : values) mask.push_back(std::isnan(v));
  return mask;
}

// A NaN that reaches an op must come out as NaN on every ISA, where the scalar
// reference puts it (the AVX exp once clamped NaN into a large finite number,
// so attention over a NaN score gave plausible probabilities).
TEST(Kernels, NanPropagatesLikeTheScalarReference) {
  IsaCapGuard guard;
  ThreadPool pool(2);
  const std::vector<int32_t> offsets = {0, 3, 40};
  const int heads = 2, hd = 32, ld = heads * hd;
  const size_t t = offsets.back();
  auto q = random_floats(t * ld, 1);
  const auto k = random_floats(t * ld, 2);
  const auto v = random_floats(t * ld, 3);
  q[10 * ld + 5] = NAN;  // token 10 (sequence 1), head 0
  std::vector<float> x = random_floats(4 * 48, 4), residual = random_floats(4 * 48, 5);
  x[2 * 48 + 7] = NAN;
  const std::vector<float> gamma(48, 1.0f), beta(48, 0.0f);
  std::vector<float> gelu_in = random_floats(37, 6, -5.0f, 5.0f);
  gelu_in[3] = NAN;
  gelu_in[20] = NAN;
  const auto w = random_floats(24 * 48, 7), b = random_floats(24, 8);

  auto run = [&](Isa isa) {
    set_isa_cap(isa);
    std::vector<std::vector<float>> outs;
    outs.emplace_back(t * ld, 0.0f);
    attention(q.data(), k.data(), v.data(), ld, outs.back().data(), ld, offsets, heads, hd, 0.17f, pool);
    outs.emplace_back(x.size());
    add_layer_norm(x.data(), residual.data(), outs.back().data(), 4, 48, gamma.data(), beta.data(), 1e-12f,
                   pool);
    outs.push_back(gelu_in);
    gelu(outs.back().data(), static_cast<int64_t>(gelu_in.size()), pool);
    outs.emplace_back(4 * 24);
    LinearF32(w.data(), 24, 48, b.data()).forward(x.data(), 4, outs.back().data(), pool, Epilogue::Gelu);
    return outs;
  };
  const auto ref = run(Isa::Scalar);
  const char* names[] = {"attention", "add_layer_norm", "gelu", "linear+gelu"};
  for (size_t op = 0; op < ref.size(); ++op) {
    const std::vector<bool> mask = nan_mask(ref[op]);
    ASSERT_TRUE(std::find(mask.begin(), mask.end(), true) != mask.end())
        << names[op] << ": no NaN in the reference";
    ASSERT_TRUE(std::find(mask.begin(), mask.end(), false) != mask.end()) << names[op] << ": NaN everywhere";
  }
  for (Isa isa : available_isas()) {
    const auto outs = run(isa);
    for (size_t op = 0; op < ref.size(); ++op)
      EXPECT_EQ(nan_mask(outs[op]), nan_mask(ref[op])) << isa_name(isa) << " " << names[op];
  }
}

}  // namespace
}  // namespace qp::kernels
