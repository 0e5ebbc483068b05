// AWQ's scale search: never worse than round to nearest on the calibration
// Hessian, better where a few input channels carry most of the activation;
// the output error against a direct computation with explicit inputs.
#include "quant/awq.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "quant/quantize_ref.h"
#include "test_paths.h"

namespace qp::quant {
namespace {

struct Layer {
  int64_t n, k, rows;
  std::vector<float> w, x;      // [n × k], [rows × k]
  std::vector<double> hessian;  // Σ xᵀx
};

// Inputs whose first `outliers` channels are `boost` times larger than the
// rest, as LayerNorm / attention outputs of trained models have.
Layer make_layer(int64_t n, int64_t k, int64_t rows, int outliers, float boost, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Layer l{
      n, k, rows, std::vector<float>(n * k), std::vector<float>(rows * k), std::vector<double>(k * k, 0.0)};
  for (float& v : l.w) v = normal(rng) * 0.05f;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) l.x[r * k + j] = normal(rng) * (j < outliers ? boost : 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) l.hessian[a * k + b] += double(l.x[r * k + a]) * l.x[r * k + b];
  return l;
}

TEST(Awq, OutputErrorIsTheSquaredErrorOfTheLayerOutputs) {
  const Layer l = make_layer(8, 64, 40, 2, 10.0f, 1);
  const std::vector<float> w_hat =
      quantize_ref("w", l.w, l.n, l.k, parse_scheme("q2_affine_g32")).dequantize();
  double direct = 0;
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t i = 0; i < l.n; ++i) {
      double d = 0;
      for (int64_t j = 0; j < l.k; ++j)
        d += double(l.x[r * l.k + j]) * (double(w_hat[i * l.k + j]) - l.w[i * l.k + j]);
      direct += d * d;
    }
  EXPECT_NEAR(output_error(l.w, w_hat, l.n, l.k, l.hessian), direct, 1e-9 * direct);
}

TEST(Awq, NeverWorseThanRoundToNearestAndBetterWithOutlierChannels) {
  for (const char* scheme : {"q4_affine_g32", "q3_affine_g32", "q2_affine_g32", "q4_sym_ch"}) {
    const Layer l = make_layer(16, 64, 64, 3, 20.0f, 7);
    const AwqResult r = awq_search("w", l.w, l.n, l.k, l.hessian, l.rows, parse_scheme(scheme));
    EXPECT_LE(r.error, r.rtn_error) << scheme;
    EXPECT_LT(r.error, 0.95 * r.rtn_error) << scheme;
    EXPECT_GT(r.alpha, 0.0) << scheme;
    ASSERT_EQ(r.scales.size(), 64u);
    // The loud channels get the larger scales.
    EXPECT_GT(r.scales[0], r.scales[40]) << scheme;
    // The reported error is that of the scaled weights, rounded and unscaled.
    std::vector<float> scaled(l.w);
    for (int64_t i = 0; i < l.n; ++i)
      for (int64_t j = 0; j < l.k; ++j) scaled[i * l.k + j] = l.w[i * l.k + j] * r.scales[j];
    std::vector<float> q = quantize_ref("w", scaled, l.n, l.k, parse_scheme(scheme)).dequantize();
    for (int64_t i = 0; i < l.n; ++i)
      for (int64_t j = 0; j < l.k; ++j) q[i * l.k + j] /= r.scales[j];
    EXPECT_NEAR(output_error(l.w, q, l.n, l.k, l.hessian), r.error, 1e-6 * r.error) << scheme;
  }
}

// The same search in PyTorch (tests/golden/awq/make_awq_golden.py), with the
// error measured on the inputs themselves: the α chosen here is the golden
// one (or ties it), and the errors agree.
TEST(Awq, MatchesIndependentPyTorchSearch) {
  std::ifstream in(test::source_dir() / "tests/golden/awq/awq_golden.json");
  ASSERT_TRUE(in) << "tests/golden/awq/awq_golden.json is missing";
  const nlohmann::json golden = nlohmann::json::parse(in);
  ASSERT_EQ(golden["cases"].size(), 3u);
  const int grid = golden["grid"];
  for (const nlohmann::json& c : golden["cases"]) {
    const int64_t n = c["n"], k = c["k"], rows = c["rows"];
    const std::vector<float> w = c["w"].get<std::vector<float>>(), x = c["x"].get<std::vector<float>>();
    const std::vector<double> errors = c["errors"];
    std::vector<double> h(static_cast<size_t>(k * k), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t a = 0; a < k; ++a)
        for (int64_t b = 0; b < k; ++b) h[a * k + b] += double(x[r * k + a]) * x[r * k + b];
    const std::string scheme = c["scheme"];
    const AwqResult got = awq_search("w", w, n, k, h, rows, parse_scheme(scheme), {.grid = grid});
    const size_t step = static_cast<size_t>(std::lround(got.alpha * grid));
    const double least = *std::min_element(errors.begin(), errors.end());
    EXPECT_EQ(got.alpha, c["alpha"].get<double>()) << scheme;
    EXPECT_LE(errors[step], least * (1 + 1e-4)) << scheme << ": chose α " << got.alpha;
    EXPECT_NEAR(got.error, errors[step], 1e-3 * errors[step]) << scheme;
    EXPECT_NEAR(got.rtn_error, errors[0], 1e-3 * errors[0]) << scheme;
  }
}

TEST(Awq, EqualChannelsKeepRoundToNearest) {
  // Every channel equally loud: every α gives s = 1, and round to nearest stands.
  const int64_t n = 4, k = 32;
  std::vector<float> w(n * k);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : w) v = normal(rng);
  std::vector<double> h(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j) h[j * k + j] = 5.0;
  const AwqResult r = awq_search("w", w, n, k, h, 5, parse_scheme("q4_affine_g32"));
  EXPECT_EQ(r.alpha, 0.0);
  EXPECT_EQ(r.error, r.rtn_error);
  for (float s : r.scales) EXPECT_FLOAT_EQ(s, 1.0f);
}

TEST(Awq, BadInputsAreRefusedWithTheTensorNamed) {
  std::vector<float> w(4 * 32, 0.5f);
  std::vector<double> wrong(10, 1.0);
  try {
    awq_search("layer.0.attention.output.dense.weight", w, 4, 32, wrong, 1, parse_scheme("q4_affine_g32"));
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer.0.attention.output.dense.weight"), std::string::npos)
        << e.what();
  }
  std::vector<double> nan(32 * 32, 0.0);
  nan[0] = std::nan("");
  EXPECT_THROW(awq_search("w", w, 4, 32, nan, 1, parse_scheme("q4_affine_g32")), Error);
}

}  // namespace
}  // namespace qp::quant
