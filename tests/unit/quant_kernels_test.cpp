// QuantLinear's SIMD variants against the scalar reference. The integer dot
// products are exact on every ISA, so the only differences left are float
// rounding in the per-group scale/bias sums and the vectorised GELU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/thread_pool.h"
#include "kernels/quant_dispatch.h"
#include "kernels/quant_linear.h"
#include "quant/pack.h"
#include "quant/quantize_ref.h"
#include "quant/scheme.h"

namespace qp::kernels {
namespace {

// Restores the ISA cap a test found, whatever the test switched to.
class IsaCapGuard {
 public:
  IsaCapGuard() : saved_(active_isa()) {}
  ~IsaCapGuard() { set_isa_cap(saved_); }

 private:
  Isa saved_;
};

// The SIMD ISAs this CPU runs (the scalar one is the oracle).
std::vector<Isa> simd_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Amx})
    if (static_cast<int>(isa) <= static_cast<int>(detected_isa())) isas.push_back(isa);
  return isas;
}

std::vector<float> normal_floats(size_t n, uint32_t seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

QuantLinear build(const quant::QuantizedTensor& q, const float* bias) {
  const std::vector<uint8_t> codes = quant::unpack_codes(q.packed, q.bits, q.n * q.k);
  return QuantLinear(codes.data(), q.scales.data(), q.biases.data(), static_cast<int>(q.n),
                     static_cast<int>(q.k), q.bits, q.group, bias);
}

// a·Σ_g (|s_g·dot_g| + |b_g·sum_g|) for every output: the size of the float
// terms the kernels add up. The sum itself may nearly cancel (affine biases
// offset the codes), so it is no yardstick for rounding error; this is.
std::vector<float> term_magnitudes(const quant::QuantizedTensor& q, const std::vector<float>& x, int m) {
  const int n = static_cast<int>(q.n), k = static_cast<int>(q.k), groups = k / q.group;
  const std::vector<uint8_t> codes = quant::unpack_codes(q.packed, q.bits, q.n * q.k);
  std::vector<float> mag(size_t(m) * n);
  std::vector<int8_t> xq(k);
  for (int r = 0; r < m; ++r) {
    const float a = quantize_activation_row(&x[size_t(r) * k], k, xq.data());
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int g = 0; g < groups; ++g) {
        int64_t dot = 0, xs = 0;
        for (int i = g * q.group; i < (g + 1) * q.group; ++i) {
          dot += int64_t{xq[i]} * codes[size_t(j) * k + i];
          xs += xq[i];
        }
        sum += std::fabs(q.scales[j * groups + g] * double(dot)) +
               std::fabs(q.biases[j * groups + g] * double(xs));
      }
      mag[size_t(r) * n + j] = static_cast<float>(a * sum);
    }
  }
  return mag;
}

// Largest |got − ref| over a row, relative to the row's largest term size (for
// GELU outputs too: its slope is at most 1.13, so an input error carries over).
double worst_row_error(const std::vector<float>& ref, const std::vector<float>& got,
                       const std::vector<float>& scale, int m, int n) {
  double worst = 0.0;
  for (int r = 0; r < m; ++r) {
    double mag = 1e-30, err = 0.0;
    for (int j = 0; j < n; ++j) {
      mag = std::max(mag, std::fabs(double(scale[size_t(r) * n + j])));
      err = std::max(err, std::fabs(double(ref[size_t(r) * n + j]) - got[size_t(r) * n + j]));
    }
    worst = std::max(worst, err / mag);
  }
  return worst;
}

// One weight (scheme × n × k): the reference at m = 98 with and without GELU,
// then every SIMD variant at m ∈ {1, 3, 6, 17, 33, 40, 64, 98} (rows are independent, so the
// reference's first m rows are the answer).
// Returns the worst relative error seen.
double check_shape(const std::string& scheme, int n, int k, ThreadPool& pool) {
  constexpr int kMaxM = 98;
  const quant::QuantizedTensor q = quant::quantize_ref("w", normal_floats(size_t(n) * k, n * 7 + k, 0.05f), n,
                                                       k, quant::parse_scheme(scheme));
  const std::vector<float> bias = normal_floats(n, 5, 0.1f);
  const float* b = n % 2 ? bias.data() : nullptr;  // n = 384 runs without a layer bias
  std::vector<float> x = normal_floats(size_t(kMaxM) * k, k + 11, 1.0f);
  for (int r = 0; r < kMaxM; r += 5) x[size_t(r) * k + r % k] = 9.0f;  // an outlier sets the row scale
  std::vector<float> ref(size_t(kMaxM) * n), ref_gelu(ref.size());
  set_isa_cap(Isa::Scalar);
  const QuantLinear oracle = build(q, b);
  oracle.forward(x.data(), kMaxM, ref.data(), pool);
  oracle.forward(x.data(), kMaxM, ref_gelu.data(), pool, Epilogue::Gelu);
  const std::vector<float> mag = term_magnitudes(q, x, kMaxM);
  double worst = 0.0;
  for (Isa isa : simd_isas()) {
    set_isa_cap(isa);
    const QuantLinear linear = build(q, b);
    EXPECT_EQ(linear.isa(), isa) << scheme;
    if (linear.isa() != isa) continue;
    // AMX: 16- and 32-row tiles, partial ones, and last calls of 1 (33) or
    // 2 (98 = 3·32 + 2) tokens, which the VNNI kernel takes.
    for (int m : {1, 3, 6, 17, 33, 40, 64, kMaxM}) {
      std::vector<float> y(size_t(m) * n, -1.0f), y_gelu(y.size(), -1.0f);
      linear.forward(x.data(), m, y.data(), pool);
      linear.forward(x.data(), m, y_gelu.data(), pool, Epilogue::Gelu);
      const std::string where = scheme + " " + std::string(isa_name(isa)) + " m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k);
      const double e = worst_row_error(ref, y, mag, m, n),
                   e_gelu = worst_row_error(ref_gelu, y_gelu, mag, m, n);
      EXPECT_LE(e, 1e-5) << where;
      EXPECT_LE(e_gelu, 1e-5) << where << " gelu";
      worst = std::max({worst, e, e_gelu});
    }
  }
  return worst;
}

// All widths and ternary, groups 32/64/128, n ∈ {1, 33, 384}, k ∈ {64, 384, 1536}.
TEST(QuantKernels, EveryIsaMatchesScalarReference) {
  if (simd_isas().empty()) GTEST_SKIP() << "no SIMD ISA on this CPU";
  IsaCapGuard guard;
  ThreadPool pool(2);
  double worst = 0.0;
  for (int group : {32, 64, 128}) {
    std::vector<std::string> schemes;
    for (int bits : {2, 3, 4, 5, 6, 8})
      schemes.push_back("q" + std::to_string(bits) + "_affine_g" + std::to_string(group));
    schemes.push_back("ternary_g" + std::to_string(group));
    for (const std::string& scheme : schemes)
      for (int k : {64, 384, 1536})
        for (int n : {1, 33, 384})
          if (k % group == 0) worst = std::max(worst, check_shape(scheme, n, k, pool));
  }
  std::ostringstream text;
  text << std::scientific << worst;
  RecordProperty("worst_relative_error", text.str());  // in --gtest_output=xml
}

// Symmetric and per-channel schemes take the same path; check one of each.
TEST(QuantKernels, SymmetricAndPerChannelSchemes) {
  if (simd_isas().empty()) GTEST_SKIP() << "no SIMD ISA on this CPU";
  IsaCapGuard guard;
  ThreadPool pool(1);
  for (const char* scheme : {"q8_sym_ch", "q4_sym_g64", "q5_sym_g32", "q4_sym_tensor"})
    check_shape(scheme, 40, 256, pool);
  // Deep rows, where one int32 dot and its float conversion cover all of k.
  for (int k : {1536, 3072}) check_shape("q8_sym_ch", 33, k, pool);
}

// A per-channel weight stored with several groups per row runs as one group
// (one conversion and scaling a row); real groups stay groups.
TEST(QuantKernels, UniformGroupsRunAsOne) {
  if (simd_isas().empty()) GTEST_SKIP() << "no SIMD ISA on this CPU";
  IsaCapGuard guard;
  set_isa_cap(simd_isas().back());
  const int n = 40, k = 512;
  const std::vector<float> w = normal_floats(size_t(n) * k, 3, 0.05f);
  const quant::QuantizedTensor per_channel =
      quant::quantize_ref("w", w, n, k, quant::parse_scheme("q8_sym_ch"));
  const quant::QuantizedTensor grouped =
      quant::quantize_ref("w", w, n, k, quant::parse_scheme("q8_affine_g64"));
  ASSERT_LT(per_channel.group, k);  // stored with groups, as MLX does
  EXPECT_EQ(build(per_channel, nullptr).kernel_group(), k);
  EXPECT_EQ(build(grouped, nullptr).kernel_group(), 64);
  set_isa_cap(Isa::Scalar);
  EXPECT_EQ(build(per_channel, nullptr).kernel_group(), per_channel.group);  // the reference keeps them
}

// A NaN or inf anywhere in a token makes that token's whole output NaN (as in
// the reference); a zero token gives exactly the layer bias; others are
// untouched.
TEST(QuantKernels, NonFiniteAndZeroRows) {
  IsaCapGuard guard;
  ThreadPool pool(2);
  const int m = 6, n = 50, k = 128;
  const quant::QuantizedTensor q = quant::quantize_ref("w", normal_floats(size_t(n) * k, 3, 0.05f), n, k,
                                                       quant::parse_scheme("q4_affine_g32"));
  const std::vector<float> bias = normal_floats(n, 4, 0.1f);
  std::vector<float> x = normal_floats(size_t(m) * k, 6, 1.0f);
  x[2 * k + 77] = std::numeric_limits<float>::quiet_NaN();
  x[3 * k + 5] = std::numeric_limits<float>::infinity();
  std::fill_n(x.begin() + 4 * k, k, 0.0f);
  set_isa_cap(Isa::Scalar);
  std::vector<float> ref(size_t(m) * n);
  build(q, bias.data()).forward(x.data(), m, ref.data(), pool);
  for (Isa isa : simd_isas()) {
    set_isa_cap(isa);
    std::vector<float> y(size_t(m) * n);
    build(q, bias.data()).forward(x.data(), m, y.data(), pool, Epilogue::None);
    for (int j = 0; j < n; ++j) {
      EXPECT_TRUE(std::isnan(y[2 * n + j]) && std::isnan(ref[2 * n + j])) << j;
      EXPECT_TRUE(std::isnan(y[3 * n + j]) && std::isnan(ref[3 * n + j])) << j;
      EXPECT_EQ(y[4 * n + j], bias[j]) << j;
      for (int r : {0, 1, 5}) EXPECT_NEAR(y[r * n + j], ref[r * n + j], 1e-4) << isa_name(isa) << " " << r;
    }
  }
}

// Activation quantization is bit-identical to quantize_activation_row on every
// ISA, including ties (rint to even), clamping, and odd group tails.
TEST(QuantKernels, ActivationQuantizationIsBitIdentical) {
  const int k = 96;
  std::vector<float> x = normal_floats(k, 9, 2.0f);
  x[10] = 6.35f;
  x[11] = -6.35f;
  x[12] = 0.025f;
  std::vector<int8_t> ref(k);
  const float ref_scale = quantize_activation_row(x.data(), k, ref.data());
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Amx}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_isa())) continue;
    for (int group : {4, 12, 32, 96}) {
      std::vector<int8_t> got(k);
      std::vector<float> sums(k / group);
      EXPECT_EQ(quant_kernel_table(isa).quantize_row(x.data(), k, group, got.data(), sums.data(), 4),
                ref_scale);
      EXPECT_EQ(got, ref) << isa_name(isa) << " group " << group;
      if (quant_kernel_table(isa).interleaved_activations || isa == Isa::Scalar) {
        // One row of an interleaved tile: quad q at q·16 bytes, the rest untouched.
        std::vector<int8_t> tile(size_t(k) * 4, 99);
        std::vector<float> tile_sums(k / group);
        quant_kernel_table(isa).quantize_row(x.data(), k, group, tile.data(), tile_sums.data(), 16);
        for (int i = 0; i < 4 * k; ++i) {
          const int quad = i / 16, lane = i % 16;
          EXPECT_EQ(tile[i], lane < 4 ? ref[4 * quad + lane] : 99) << isa_name(isa) << " byte " << i;
        }
        EXPECT_EQ(tile_sums, sums) << isa_name(isa);
      }
      for (int g = 0; g < k / group; ++g) {
        int sum = 0;
        for (int i = g * group; i < (g + 1) * group; ++i) sum += ref[i];
        EXPECT_EQ(sums[g], float(sum)) << isa_name(isa) << " group " << group;
      }
    }
  }
}

// Low-bit weights are held packed: 4-bit codes take half a byte, 2-bit a quarter.
TEST(QuantKernels, PackedPathHoldsFewerBytes) {
  if (simd_isas().empty()) GTEST_SKIP() << "no SIMD ISA on this CPU";
  IsaCapGuard guard;
  set_isa_cap(simd_isas().back());
  const int n = 64, k = 256;
  for (const auto& [scheme, code_bytes] :
       {std::pair{"q8_affine_g64", n * k}, {"q4_affine_g64", n * k / 2}, {"ternary_g64", n * k / 4}}) {
    const quant::QuantizedTensor q =
        quant::quantize_ref("w", normal_floats(size_t(n) * k, 1, 0.05f), n, k, quant::parse_scheme(scheme));
    EXPECT_EQ(build(q, nullptr).weight_bytes(), code_bytes + 4 * 2 * n * (k / 64)) << scheme;
  }
}

}  // namespace
}  // namespace qp::kernels
