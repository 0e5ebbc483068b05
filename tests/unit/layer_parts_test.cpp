// The transformer layer built from parts, against a plain double-precision
// computation written out here: the post-LN layer as BERT computes it and the
// parts no architecture has used yet (pre-LN placement, a gated FFN), each
// with and without a score hook adding a bias before the softmax.
#include "models/layer_parts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/quant_linear.h"

namespace qp {
namespace {

constexpr int kHidden = 8, kHeads = 2, kInter = 16, kTokens = 5;

struct Matrix {
  int rows = 0, cols = 0;
  std::vector<float> w, b;
};

Matrix random_matrix(int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 0.4f);
  Matrix m{rows, cols, std::vector<float>(static_cast<size_t>(rows) * cols), std::vector<float>(rows)};
  for (float& v : m.w) v = d(rng);
  for (float& v : m.b) v = d(rng);
  return m;
}

using Rows = std::vector<std::vector<double>>;

Rows project(const Matrix& m, const Rows& x) {
  Rows y(x.size(), std::vector<double>(m.rows));
  for (size_t t = 0; t < x.size(); ++t)
    for (int o = 0; o < m.rows; ++o) {
      double s = m.b[o];
      for (int i = 0; i < m.cols; ++i) s += m.w[static_cast<size_t>(o) * m.cols + i] * x[t][i];
      y[t][o] = s;
    }
  return y;
}

Rows layer_norm(const Rows& x, const LayerNormParams& p) {
  Rows y = x;
  for (auto& row : y) {
    double mean = 0, var = 0;
    for (double v : row) mean += v;
    mean /= row.size();
    for (double v : row) var += (v - mean) * (v - mean);
    var /= row.size();
    for (size_t i = 0; i < row.size(); ++i)
      row[i] = (row[i] - mean) / std::sqrt(var + p.eps) * p.gamma[i] + p.beta[i];
  }
  return y;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

Rows add(const Rows& a, const Rows& b) {
  Rows y = a;
  for (size_t t = 0; t < a.size(); ++t)
    for (size_t i = 0; i < a[t].size(); ++i) y[t][i] += b[t][i];
  return y;
}

// The additive bias the test hook gives: distinct per head, query and key.
double hook_bias(int head, int query, int key) { return 0.3 * head - 0.2 * query + 0.1 * key * key; }

class TestHook final : public ScoreHook {
 public:
  void add_bias(const ScoreContext&, int, int head, int first_query, int query_count,
                float* scores) const override {
    for (int r = 0; r < query_count; ++r)
      for (int k = 0; k < kTokens; ++k)
        scores[r * kTokens + k] += static_cast<float>(hook_bias(head, first_query + r, k));
  }
};

Rows attention(const Matrix& q_w, const Matrix& k_w, const Matrix& v_w, const Matrix& o_w, const Rows& x,
               bool hooked) {
  const Rows q = project(q_w, x), k = project(k_w, x), v = project(v_w, x);
  const int d = kHidden / kHeads;
  Rows context(x.size(), std::vector<double>(kHidden, 0.0));
  for (int h = 0; h < kHeads; ++h)
    for (int i = 0; i < kTokens; ++i) {
      std::vector<double> p(kTokens);
      double top = -1e300, sum = 0;
      for (int j = 0; j < kTokens; ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c) s += q[i][h * d + c] * k[j][h * d + c];
        p[j] = s / std::sqrt(static_cast<double>(d)) + (hooked ? hook_bias(h, i, j) : 0.0);
        top = std::max(top, p[j]);
      }
      for (double& v2 : p) sum += (v2 = std::exp(v2 - top));
      for (int j = 0; j < kTokens; ++j)
        for (int c = 0; c < d; ++c) context[i][h * d + c] += p[j] / sum * v[j][h * d + c];
    }
  return project(o_w, context);
}

struct Fixture {
  Matrix q, k, v, o, up, gate, down;
  LayerNormParams n1, n2;
  Rows x;

  explicit Fixture(unsigned seed) {
    std::mt19937 rng(seed);
    q = random_matrix(kHidden, kHidden, rng), k = random_matrix(kHidden, kHidden, rng);
    v = random_matrix(kHidden, kHidden, rng), o = random_matrix(kHidden, kHidden, rng);
    up = random_matrix(kInter, kHidden, rng), gate = random_matrix(kInter, kHidden, rng);
    down = random_matrix(kHidden, kInter, rng);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (LayerNormParams* n : {&n1, &n2}) {
      n->eps = 1e-5f;
      for (int i = 0; i < kHidden; ++i)
        n->gamma.push_back(1.0f + 0.1f * d(rng)), n->beta.push_back(0.1f * d(rng));
    }
    x.assign(kTokens, std::vector<double>(kHidden));
    for (auto& row : x)
      for (double& v2 : row) v2 = static_cast<float>(d(rng));
  }

  TransformerLayer layer(bool gated) const {
    TransformerLayer l;
    std::vector<float> qkv_w, qkv_b;
    for (const Matrix* m : {&q, &k, &v}) {
      qkv_w.insert(qkv_w.end(), m->w.begin(), m->w.end());
      qkv_b.insert(qkv_b.end(), m->b.begin(), m->b.end());
    }
    l.attention.qkv = std::make_unique<kernels::LinearF32>(qkv_w.data(), 3 * kHidden, kHidden, qkv_b.data());
    l.attention.out = std::make_unique<kernels::LinearF32>(o.w.data(), kHidden, kHidden, o.b.data());
    l.ffn.up = std::make_unique<kernels::LinearF32>(up.w.data(), kInter, kHidden, up.b.data());
    if (gated)
      l.ffn.gate = std::make_unique<kernels::LinearF32>(gate.w.data(), kInter, kHidden, gate.b.data());
    l.ffn.down = std::make_unique<kernels::LinearF32>(down.w.data(), kHidden, kInter, down.b.data());
    l.attn_norm = n1;
    l.ffn_norm = n2;
    return l;
  }

  Rows ffn(const Rows& h, bool gated) const {
    Rows u = project(up, h);
    const Rows g = project(gate, h);
    for (size_t t = 0; t < u.size(); ++t)
      for (int i = 0; i < kInter; ++i) u[t][i] = gated ? gelu(g[t][i]) * u[t][i] : gelu(u[t][i]);
    return project(down, u);
  }

  Rows expected(NormPlacement placement, bool gated, bool hooked) const {
    if (placement == NormPlacement::Post) {
      const Rows h1 = layer_norm(add(x, attention(q, k, v, o, x, hooked)), n1);
      return layer_norm(add(h1, ffn(h1, gated)), n2);
    }
    const Rows h1 = add(x, attention(q, k, v, o, layer_norm(x, n1), hooked));
    return add(h1, ffn(layer_norm(h1, n2), gated));
  }

  std::vector<float> actual(NormPlacement placement, bool gated, bool hooked) const {
    LayerShape shape{kHidden, kHeads, kInter, 1e-5f, placement};
    EncoderBatch batch;
    batch.input_ids.assign(kTokens, 0);
    batch.token_type_ids.assign(kTokens, 0);
    batch.seq_offsets = {0, kTokens};
    std::vector<float> hidden;
    for (const auto& row : x) hidden.insert(hidden.end(), row.begin(), row.end());
    ThreadPool pool(1);
    const TestHook hook;
    layer(gated).forward(shape, batch, hidden, pool, nullptr, 0, hooked ? &hook : nullptr);
    return hidden;
  }
};

class LayerParts : public ::testing::TestWithParam<std::tuple<NormPlacement, bool, bool>> {};

TEST_P(LayerParts, MatchesAPlainComputation) {
  const auto [placement, gated, hooked] = GetParam();
  const Fixture f(7);
  const Rows want = f.expected(placement, gated, hooked);
  const std::vector<float> got = f.actual(placement, gated, hooked);
  for (int t = 0; t < kTokens; ++t)
    for (int i = 0; i < kHidden; ++i) EXPECT_NEAR(got[t * kHidden + i], want[t][i], 2e-4) << t << "," << i;
  if (hooked) {  // the hook must change the result, or this test checks nothing about it
    const std::vector<float> plain = f.actual(placement, gated, false);
    double moved = 0;
    for (size_t j = 0; j < got.size(); ++j) moved = std::max(moved, std::fabs(double(got[j]) - plain[j]));
    EXPECT_GT(moved, 1e-2);
  }
}

INSTANTIATE_TEST_SUITE_P(PlacementsFfnsAndHooks, LayerParts,
                         ::testing::Combine(::testing::Values(NormPlacement::Post, NormPlacement::Pre),
                                            ::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == NormPlacement::Post ? "PostLn"
                                                                                             : "PreLn") +
                                  (std::get<1>(info.param) ? "Gated" : "Plain") +
                                  (std::get<2>(info.param) ? "Hooked" : "");
                         });

// The FFN runs in token blocks, one block a thread, when no sink watches and
// the batch has a block for every thread; with a sink it runs whole GEMMs.
// Both must give the same bits (every row's arithmetic is the same), and the
// plain computation's values, in fp32 and with 4-bit weights.
struct RecordingSink final : TensorSink {
  std::vector<std::string> names;
  void on_tensor(const std::string& name, const float*, int64_t, int64_t) override { names.push_back(name); }
};

LinearPtr quantized(const Matrix& m, std::mt19937& rng) {
  std::uniform_int_distribution<int> code(0, 15);
  std::vector<uint8_t> codes(m.w.size());
  for (auto& c : codes) c = static_cast<uint8_t>(code(rng));
  const int groups = m.cols / 32;
  std::vector<float> scales(static_cast<size_t>(m.rows) * groups, 0.05f), biases(scales.size(), -0.4f);
  return std::make_unique<kernels::QuantLinear>(codes.data(), scales.data(), biases.data(), m.rows, m.cols, 4,
                                                32, m.b.data());
}

TEST(FeedForward, TokenBlocksGiveTheBitsOfWholeGemms) {
  constexpr int kH = 64, kI = 256, kT = 300;  // 300 tokens: blocks of 64 for 2 threads, the last one short
  std::mt19937 rng(11);
  const Matrix up = random_matrix(kI, kH, rng), down = random_matrix(kH, kI, rng);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kT) * kH);
  for (float& v : x) v = d(rng);
  const LayerShape shape{kH, 4, kI, 1e-5f, NormPlacement::Post};
  ThreadPool pool(2);
  for (const bool quant : {false, true}) {
    FfnPart part;
    part.up =
        quant ? quantized(up, rng) : std::make_unique<kernels::LinearF32>(up.w.data(), kI, kH, up.b.data());
    part.down = quant ? quantized(down, rng)
                      : std::make_unique<kernels::LinearF32>(down.w.data(), kH, kI, down.b.data());
    std::vector<float> blocked(x.size()), whole(x.size());
    feed_forward(part, shape, x.data(), kT, blocked.data(), pool, nullptr, "l.");
    RecordingSink sink;
    feed_forward(part, shape, x.data(), kT, whole.data(), pool, &sink, "l.");
    ASSERT_FALSE(sink.names.empty());  // the sink saw the whole-GEMM path's tensors
    EXPECT_EQ(blocked, whole) << (quant ? "q4" : "fp32");
    if (!quant) {
      Rows rows(kT, std::vector<double>(kH));
      for (int t = 0; t < kT; ++t)
        for (int i = 0; i < kH; ++i) rows[t][i] = x[static_cast<size_t>(t) * kH + i];
      Rows u = project(up, rows);
      for (auto& row : u)
        for (double& v : row) v = gelu(v);
      const Rows want = project(down, u);
      for (int t = 0; t < kT; ++t)
        for (int i = 0; i < kH; ++i) ASSERT_NEAR(blocked[static_cast<size_t>(t) * kH + i], want[t][i], 1e-3);
    }
  }
}

}  // namespace
}  // namespace qp
