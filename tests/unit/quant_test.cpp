// Quantization: schemes, MLX packing, the reference quantizers, QuantLinear, and
// an independent Python/numpy reader of the files we write.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/safetensors_writer.h"
#include "kernels/quant_dispatch.h"
#include "kernels/quant_linear.h"
#include "kernels/ref_ops.h"
#include "quant/format_table.h"
#include "quant/pack.h"
#include "quant/quantize_ref.h"
#include "quant/scheme.h"
#include "test_paths.h"

namespace qp::quant {
namespace {

const int kAllBits[] = {2, 3, 4, 5, 6, 8};

std::vector<float> normal_floats(size_t n, uint32_t seed, float stddev = 0.05f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Little-endian bytes of packed words, the byte stream MLX writes.
std::vector<uint8_t> stream_bytes(const std::vector<uint32_t>& words) {
  std::vector<uint8_t> bytes;
  for (uint32_t w : words)
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return bytes;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Every scheme the tests sweep: each kind × bits × granularity.
std::vector<QuantScheme> all_schemes() {
  std::vector<QuantScheme> schemes;
  const Granularity grans[] = {Granularity::PerTensor, Granularity::PerChannel, Granularity::PerGroup};
  for (Granularity gran : grans) {
    for (int group : {32, 64, 128}) {
      if (gran != Granularity::PerGroup && group != 32) continue;
      const int g = gran == Granularity::PerGroup ? group : 0;
      for (int bits : kAllBits) {
        schemes.push_back({bits, QuantKind::Symmetric, gran, g});
        schemes.push_back({bits, QuantKind::Affine, gran, g});
      }
      schemes.push_back({2, QuantKind::Ternary, gran, g});
    }
  }
  return schemes;
}

TEST(QuantScheme, ParseAndFormatRoundTrip) {
  EXPECT_EQ(parse_scheme("q8_sym_ch"), (QuantScheme{8, QuantKind::Symmetric, Granularity::PerChannel, 0}));
  EXPECT_EQ(parse_scheme("q4_affine_g64"), (QuantScheme{4, QuantKind::Affine, Granularity::PerGroup, 64}));
  EXPECT_EQ(parse_scheme("ternary_g64"), (QuantScheme{2, QuantKind::Ternary, Granularity::PerGroup, 64}));
  EXPECT_EQ(parse_scheme("q3_sym_tensor").granularity, Granularity::PerTensor);
  for (const QuantScheme& s : all_schemes()) EXPECT_EQ(parse_scheme(format_scheme(s)), s) << format_scheme(s);
}

TEST(QuantScheme, UnsupportedCombinationsNameSchemeAndReason) {
  EXPECT_NE(error_of([] { parse_scheme("q7_sym_ch"); }).find("'q7_sym_ch': 7 bits is not supported"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_scheme("q4_affine_g16"); }).find("group size 16 is not supported"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_scheme("q4_asym_g64"); }).find("unknown kind 'asym'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_scheme("ternary_g48"); }).find("'ternary_g48'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_scheme("q4_affine"); }).find("missing granularity"), std::string::npos);
  EXPECT_NE(error_of([] { parse_scheme("q4_affine_x"); }).find("unknown granularity 'x'"), std::string::npos);
  EXPECT_NE(error_of([] {
              validate_scheme({4, QuantKind::Ternary, Granularity::PerGroup, 64});
            }).find("ternary codes are stored with 2 bits"),
            std::string::npos);
}

TEST(QuantScheme, FitsAndStorageGroup) {
  EXPECT_TRUE(scheme_fits(parse_scheme("q4_affine_g64"), 384));
  EXPECT_FALSE(scheme_fits(parse_scheme("q4_affine_g128"), 320));
  EXPECT_TRUE(scheme_fits(parse_scheme("q8_sym_ch"), 96));
  EXPECT_FALSE(scheme_fits(parse_scheme("q8_sym_ch"), 100));
  EXPECT_EQ(storage_group(parse_scheme("q8_sym_ch"), 384), 128);
  EXPECT_EQ(storage_group(parse_scheme("q8_sym_tensor"), 96), 32);
  EXPECT_EQ(storage_group(parse_scheme("q4_affine_g32"), 384), 32);
  EXPECT_THROW(storage_group(parse_scheme("q4_affine_g128"), 320), Error);
}

TEST(QuantPack, HandComputedWords) {
  std::vector<uint8_t> codes4 = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(pack_codes(codes4, 4), std::vector<uint32_t>{0x76543210u});
  std::vector<uint8_t> codes2 = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
  EXPECT_EQ(pack_codes(codes2, 2), std::vector<uint32_t>{0xE4E4E4E4u});
  std::vector<uint8_t> codes8 = {1, 2, 3, 4, 0xFF, 0, 0x80, 0x7F};
  EXPECT_EQ(pack_codes(codes8, 8), (std::vector<uint32_t>{0x04030201u, 0x7F8000FFu}));
}

// 3/5/6-bit byte patterns worked out by hand from MLX's extract_bits (which
// reads 8 3-bit codes from 3 bytes, 8 5-bit codes from 5, 4 6-bit codes from 3).
TEST(QuantPack, OddWidthsMatchMlxBytePatterns) {
  std::vector<uint8_t> ramp(32);
  for (int i = 0; i < 32; ++i) ramp[i] = static_cast<uint8_t>(i % 8);
  const std::vector<uint8_t> three = stream_bytes(pack_codes(ramp, 3));
  ASSERT_EQ(three.size(), 12u);
  for (int unit = 0; unit < 4; ++unit) {
    EXPECT_EQ(three[3 * unit + 0], 0x88);  // codes 0,1 and the low 2 bits of 2
    EXPECT_EQ(three[3 * unit + 1], 0xC6);
    EXPECT_EQ(three[3 * unit + 2], 0xFA);
  }
  EXPECT_EQ(pack_codes(ramp, 3), (std::vector<uint32_t>{0x88FAC688u, 0xC688FAC6u, 0xFAC688FAu}));

  const std::vector<uint8_t> five = stream_bytes(pack_codes(ramp, 5));
  ASSERT_EQ(five.size(), 20u);
  const uint8_t five_unit[5] = {0x20, 0x88, 0x41, 0x8A, 0x39};
  for (int unit = 0; unit < 4; ++unit)
    for (int b = 0; b < 5; ++b) EXPECT_EQ(five[5 * unit + b], five_unit[b]) << unit << " " << b;

  std::vector<uint8_t> quad(32);
  for (int i = 0; i < 32; ++i) quad[i] = static_cast<uint8_t>(i % 4 + 1);
  const std::vector<uint8_t> six = stream_bytes(pack_codes(quad, 6));
  ASSERT_EQ(six.size(), 24u);
  for (int unit = 0; unit < 8; ++unit) {
    EXPECT_EQ(six[3 * unit + 0], 0x81);
    EXPECT_EQ(six[3 * unit + 1], 0x30);
    EXPECT_EQ(six[3 * unit + 2], 0x10);
  }
}

TEST(QuantPack, RoundTripEveryWidth) {
  std::mt19937 rng(7);
  for (int bits : kAllBits) {
    std::vector<uint8_t> codes(32 * 13);
    for (auto& c : codes) c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
    const std::vector<uint32_t> words = pack_codes(codes, bits);
    EXPECT_EQ(words.size(), codes.size() * bits / 32);
    EXPECT_EQ(unpack_codes(words, bits, static_cast<int64_t>(codes.size())), codes) << bits;
  }
}

TEST(QuantPack, RejectsBadInput) {
  EXPECT_THROW(pack_codes(std::vector<uint8_t>{16}, 4), Error);          // code too wide
  EXPECT_THROW(pack_codes(std::vector<uint8_t>(7, 0), 4), Error);        // not whole words
  EXPECT_THROW(unpack_codes(std::vector<uint32_t>(1, 0), 4, 9), Error);  // past the end
}

TEST(QuantRef, PackUnpackDequantizeMatchesReferenceBitForBit) {
  const int64_t n = 6, k = 256;
  const std::vector<float> w = normal_floats(n * k, 11);
  for (const QuantScheme& scheme : all_schemes()) {
    SCOPED_TRACE(format_scheme(scheme));
    const QuantizedCodes codes = quantize_codes_ref("w", w, n, k, scheme);
    const QuantizedTensor q = quantize_ref("w", w, n, k, scheme);
    ASSERT_EQ(q.packed.size(), static_cast<size_t>(n * k * scheme.bits / 32));
    ASSERT_EQ(q.scales.size(), static_cast<size_t>(n * (k / q.group)));
    EXPECT_EQ(unpack_codes(q.packed, q.bits, n * k), codes.codes);
    const std::vector<float> deq = q.dequantize();
    const WeightFormat& format = weight_format(scheme);
    std::vector<float> expected(n * k);
    for (int64_t r = 0; r < n; ++r)
      format.dequantize_row(&codes.codes[r * k], k, codes.group, &codes.scales[r * (k / codes.group)],
                            &codes.biases[r * (k / codes.group)], &expected[r * k]);
    ASSERT_EQ(std::memcmp(deq.data(), expected.data(), deq.size() * sizeof(float)), 0);
  }
}

TEST(QuantRef, SymmetricMapsZeroToExactlyZero) {
  std::vector<float> w = normal_floats(4 * 64, 3);
  for (size_t i = 0; i < w.size(); i += 5) w[i] = 0.0f;
  for (int bits : kAllBits) {
    for (const char* gran : {"tensor", "ch", "g32"}) {
      const QuantScheme scheme = parse_scheme("q" + std::to_string(bits) + "_sym_" + gran);
      const std::vector<float> deq = quantize_ref("w", w, 4, 64, scheme).dequantize();
      for (size_t i = 0; i < w.size(); i += 5) ASSERT_EQ(deq[i], 0.0f) << format_scheme(scheme) << " " << i;
    }
  }
  const std::vector<float> zeros(64, 0.0f);  // an all-zero tensor stays zero
  for (float v : quantize_ref("z", zeros, 1, 64, parse_scheme("q4_sym_g64")).dequantize()) EXPECT_EQ(v, 0.0f);
}

TEST(QuantRef, AffineFollowsMlxEdgeRule) {
  // Larger magnitude at the minimum: bias = min, positive scale, min exact.
  std::vector<float> w(32, 0.0f);
  w[0] = -1.0f;
  w[1] = 0.5f;
  QuantizedCodes c = quantize_codes_ref("w", w, 1, 32, parse_scheme("q4_affine_g32"));
  EXPECT_EQ(c.biases[0], -1.0f);
  EXPECT_GT(c.scales[0], 0.0f);
  EXPECT_EQ(c.codes[0], 0);
  EXPECT_EQ(c.codes[2], 10);  // 0.0 lands on −rint(−1/0.1) = 10
  EXPECT_NEAR(c.scales[0] * c.codes[2] + c.biases[0], 0.0f, 1e-7f);
  // Larger magnitude at the maximum: bias = max, negative scale, max exact.
  w[0] = 2.0f;
  w[1] = -0.5f;
  c = quantize_codes_ref("w", w, 1, 32, parse_scheme("q4_affine_g32"));
  EXPECT_EQ(c.biases[0], 2.0f);
  EXPECT_LT(c.scales[0], 0.0f);
  EXPECT_EQ(c.codes[0], 0);
  EXPECT_EQ(c.codes[1], 15);
}

TEST(QuantRef, AffineDegenerateGroupsStayFinite) {
  // MLX floors the scale magnitude at 1e-7, so constant and all-zero groups
  // decode to their value instead of NaN.
  const std::vector<float> constant(32, 0.3f), zeros(32, 0.0f);
  for (int bits : kAllBits) {
    const QuantScheme scheme{bits, QuantKind::Affine, Granularity::PerGroup, 32};
    for (float v : quantize_ref("c", constant, 1, 32, scheme).dequantize()) EXPECT_EQ(v, 0.3f) << bits;
    for (float v : quantize_ref("z", zeros, 1, 32, scheme).dequantize()) EXPECT_EQ(v, 0.0f) << bits;
  }
}

TEST(QuantRef, TernaryCodesAndThreshold) {
  // absmean of {2, -2, 0.9, -0.3} repeated = 1.3; w/scale = 1.54, -1.54, 0.69, -0.23.
  std::vector<float> w;
  for (int i = 0; i < 8; ++i) w.insert(w.end(), {2.0f, -2.0f, 0.9f, -0.3f});
  const QuantScheme scheme = parse_scheme("ternary_g32");
  QuantizedCodes c = quantize_codes_ref("w", w, 1, 32, scheme);
  EXPECT_NEAR(c.scales[0], 1.3f, 1e-6f);
  EXPECT_EQ(c.biases[0], -c.scales[0]);
  EXPECT_EQ(std::vector<uint8_t>(c.codes.begin(), c.codes.begin() + 4), (std::vector<uint8_t>{2, 0, 2, 1}));
  QuantOptions sparse;
  sparse.ternary_threshold = 0.8f;  // 0.69 now falls under the threshold
  c = quantize_codes_ref("w", w, 1, 32, scheme, sparse);
  EXPECT_EQ(std::vector<uint8_t>(c.codes.begin(), c.codes.begin() + 4), (std::vector<uint8_t>{2, 0, 1, 1}));
  const std::vector<float> deq = quantize_ref("w", w, 1, 32, scheme).dequantize();
  EXPECT_EQ(deq[3], 0.0f);  // zero code decodes to exactly zero
  EXPECT_FLOAT_EQ(deq[0], 1.3f);
  EXPECT_FLOAT_EQ(deq[1], -1.3f);
}

TEST(QuantRef, GranularityControlsWhereParamsChange) {
  const int64_t n = 3, k = 128;
  std::vector<float> w = normal_floats(n * k, 5);
  for (int64_t i = 0; i < k; ++i) w[2 * k + i] *= 10.0f;  // one row much larger
  const QuantizedTensor t = quantize_ref("w", w, n, k, parse_scheme("q8_sym_tensor"));
  EXPECT_EQ(t.group, 128);
  for (float s : t.scales) EXPECT_EQ(s, t.scales[0]);
  const QuantizedTensor ch = quantize_ref("w", w, n, k, parse_scheme("q8_sym_ch"));
  EXPECT_NE(ch.scales[0], ch.scales[2]);
  const QuantizedTensor g = quantize_ref("w", w, n, k, parse_scheme("q8_affine_g32"));
  ASSERT_EQ(g.scales.size(), static_cast<size_t>(n * 4));
  EXPECT_NE(g.scales[0], g.scales[1]);
  // Per-channel repeats the row's one scale over its storage groups.
  const QuantizedTensor ch32 =
      quantize_ref("w", std::span(w).first(n * 96), n, 96, parse_scheme("q4_affine_ch"));
  EXPECT_EQ(ch32.group, 32);
  EXPECT_EQ(ch32.scales[0], ch32.scales[1]);
  EXPECT_EQ(ch32.scales[1], ch32.scales[2]);
}

double relative_mse(const std::vector<float>& ref, const std::vector<float>& got) {
  double err = 0.0, energy = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err += (ref[i] - got[i]) * double(ref[i] - got[i]);
    energy += double(ref[i]) * ref[i];
  }
  return err / energy;
}

TEST(QuantRef, ErrorShrinksAsBitsGrow) {
  const int64_t n = 16, k = 256;
  const std::vector<float> w = normal_floats(n * k, 21);
  for (const char* kind : {"sym", "affine"}) {
    double previous = 1e9;
    for (int bits : kAllBits) {
      const QuantScheme scheme = parse_scheme(cat("q", bits, "_", kind, "_g64"));
      const double e = relative_mse(w, quantize_ref("w", w, n, k, scheme).dequantize());
      EXPECT_LT(e, previous) << format_scheme(scheme);
      previous = e;
    }
    EXPECT_LT(previous, 1e-4) << kind;  // 8-bit
  }
  const double ternary =
      relative_mse(w, quantize_ref("w", w, n, k, parse_scheme("ternary_g64")).dequantize());
  EXPECT_LT(ternary, 0.5);
}

TEST(QuantRef, RefusesNonFiniteWeightsNamingTheTensor) {
  std::vector<float> w = normal_floats(2 * 64, 1);
  w[70] = std::numeric_limits<float>::quiet_NaN();
  const std::string nan_error =
      error_of([&] { quantize_ref("enc.l0.q.weight", w, 2, 64, parse_scheme("q8_sym_ch")); });
  EXPECT_NE(nan_error.find("'enc.l0.q.weight'"), std::string::npos) << nan_error;
  EXPECT_NE(nan_error.find("[1, 6]"), std::string::npos) << nan_error;
  w[70] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_ref("w", w, 2, 64, parse_scheme("q4_affine_g64")), Error);
}

TEST(QuantRef, RefusesSchemesThatDoNotFit) {
  const std::vector<float> w = normal_floats(2 * 96, 1);
  const std::string e = error_of([&] { quantize_ref("dense", w, 2, 96, parse_scheme("q4_affine_g64")); });
  EXPECT_NE(e.find("'dense'"), std::string::npos) << e;
  EXPECT_NE(e.find("divisible by 64"), std::string::npos) << e;
}

TEST(QuantFormatTable, OneRowPerKindAndWidth) {
  EXPECT_EQ(weight_formats().size(), 13u);
  EXPECT_EQ(weight_format(QuantKind::Affine, 4).name, "q4_affine");
  EXPECT_EQ(weight_format(QuantKind::Affine, 3).pack_codes, 8);
  EXPECT_EQ(weight_format(QuantKind::Affine, 3).pack_bytes, 3);
  EXPECT_EQ(weight_format(QuantKind::Symmetric, 5).pack_bytes, 5);
  EXPECT_EQ(weight_format(QuantKind::Symmetric, 6).pack_codes, 4);
  EXPECT_EQ(weight_format(QuantKind::Ternary, 2).name, "ternary");
  EXPECT_THROW(weight_format(QuantKind::Ternary, 4), Error);
  EXPECT_NE(weight_formats_help().find("q4_affine"), std::string::npos);
  const int8_t x[4] = {-1, 2, -3, 4};
  const uint8_t q[4] = {1, 2, 3, 255};
  EXPECT_EQ(weight_format(QuantKind::Affine, 8).dot(x, q, 4), -1 + 4 - 9 + 1020);
}

// y = x·Wᵀ + b in double over the dequantized weights: the target QuantLinear
// approximates, off only by the int8 activation rounding.
std::vector<float> matmul_dequantized(const std::vector<float>& x, int m, const QuantizedTensor& q,
                                      const std::vector<float>& bias) {
  const std::vector<float> w = q.dequantize();
  std::vector<float> y(static_cast<size_t>(m) * q.n);
  for (int r = 0; r < m; ++r)
    for (int64_t c = 0; c < q.n; ++c) {
      double acc = bias[c];
      for (int64_t i = 0; i < q.k; ++i) acc += double(x[r * q.k + i]) * w[c * q.k + i];
      y[r * q.n + c] = static_cast<float>(acc);
    }
  return y;
}

double relative_error(const std::vector<float>& ref, const std::vector<float>& got) {
  return std::sqrt(relative_mse(ref, got));
}

kernels::QuantLinear make_linear(const QuantizedTensor& q, const std::vector<float>& bias) {
  const std::vector<uint8_t> codes = unpack_codes(q.packed, q.bits, q.n * q.k);
  return kernels::QuantLinear(codes.data(), q.scales.data(), q.biases.data(), static_cast<int>(q.n),
                              static_cast<int>(q.k), q.bits, q.group, bias.data());
}

TEST(QuantLinear, MatchesFp32MatmulOfDequantizedWeights) {
  const int m = 5, n = 48, k = 256;
  const std::vector<float> w = normal_floats(n * k, 31);
  const std::vector<float> x = normal_floats(m * k, 32, 1.0f);
  const std::vector<float> bias = normal_floats(n, 33, 0.1f);
  ThreadPool pool(2);
  for (const char* name : {"q8_sym_ch", "q8_affine_g64", "q6_affine_g32", "q5_sym_g128", "q4_affine_g64",
                           "q3_affine_g32", "q2_affine_g64", "ternary_g64", "q4_sym_tensor"}) {
    const QuantizedTensor q = quantize_ref("w", w, n, k, parse_scheme(name));
    const kernels::QuantLinear linear = make_linear(q, bias);
    // The scalar path holds a byte per code; the packed SIMD layout pads n to
    // whole 32-row panels, stores ≤ 4-bit codes in 2- or 4-bit containers,
    // and keeps one scale and bias a row when all of a row's groups share them
    // (the per-channel and per-tensor schemes).
    const int64_t rows = linear.isa() == Isa::Scalar ? n : (n + 31) / 32 * 32;
    const int64_t code_bits = linear.isa() == Isa::Scalar ? 8 : kernels::code_container_bits(q.bits);
    const int64_t groups = k / linear.kernel_group();
    EXPECT_EQ(linear.kernel_group(), linear.isa() != Isa::Scalar &&
                                             std::string(name).find("_sym_") != std::string::npos &&
                                             std::string(name).find("_g") == std::string::npos
                                         ? k
                                         : q.group)
        << name;
    EXPECT_EQ(linear.weight_bytes(), rows * k * code_bits / 8 + 4 * (2 * rows * groups + rows)) << name;
    std::vector<float> y(m * n);
    linear.forward(x.data(), m, y.data(), pool);
    const double e = relative_error(matmul_dequantized(x, m, q, bias), y);
    EXPECT_LT(e, 0.01) << name;
  }
}

TEST(QuantLinear, GeluEpilogueAndThreadCountInvariance) {
  const int m = 3, n = 40, k = 128;
  const std::vector<float> w = normal_floats(n * k, 41);
  const std::vector<float> x = normal_floats(m * k, 42, 1.0f);
  const std::vector<float> bias = normal_floats(n, 43, 0.1f);
  const QuantizedTensor q = quantize_ref("w", w, n, k, parse_scheme("q4_affine_g32"));
  const kernels::QuantLinear linear = make_linear(q, bias);
  ThreadPool one(1), two(2);
  std::vector<float> plain(m * n), gelu(m * n), plain2(m * n);
  linear.forward(x.data(), m, plain.data(), one);
  linear.forward(x.data(), m, plain2.data(), two);
  linear.forward(x.data(), m, gelu.data(), two, kernels::Epilogue::Gelu);
  EXPECT_EQ(plain, plain2);
  // Exact on the scalar path; the SIMD paths fuse their vectorised GELU, which
  // is within 3e-7 (relative to max(1, |x|)) of erf's.
  for (int i = 0; i < m * n; ++i)
    EXPECT_NEAR(gelu[i], kernels::ref::gelu_value(plain[i]), 3e-7 * std::max(1.0f, std::fabs(plain[i]))) << i;
}

TEST(QuantLinear, ActivationQuantizationAndEdgeRows) {
  const float x[4] = {0.5f, -1.0f, 0.25f, 0.0f};
  int8_t q[4];
  EXPECT_FLOAT_EQ(kernels::quantize_activation_row(x, 4, q), 1.0f / 127.0f);
  EXPECT_EQ(q[1], -127);
  EXPECT_EQ(q[0], 64);  // rint(63.5) ties to even
  const float zeros[4] = {};
  EXPECT_EQ(kernels::quantize_activation_row(zeros, 4, q), 0.0f);
  // A zero activation row gives exactly the layer bias.
  const std::vector<float> w = normal_floats(4 * 64, 2);
  const std::vector<float> bias = {1.0f, 2.0f, 3.0f, 4.0f};
  const QuantizedTensor qt = quantize_ref("w", w, 4, 64, parse_scheme("q8_sym_g64"));
  ThreadPool pool(1);
  std::vector<float> xz(64, 0.0f), y(4);
  make_linear(qt, bias).forward(xz.data(), 1, y.data(), pool);
  EXPECT_EQ(y, bias);
  EXPECT_THROW(kernels::QuantLinear(unpack_codes(qt.packed, 8, 4 * 64).data(), qt.scales.data(),
                                    qt.biases.data(), 4, 64, 7, 64, nullptr),
               Error);
}

// Writes one safetensors file with an MLX-style quantized tensor per bit width,
// config.json with MLX's "quantization" block, and the expected dequantized
// values; the independent numpy reader must reproduce them.
TEST(QuantMlxReader, PythonReaderDequantizesWhatWeWrite) {
  const std::filesystem::path python = "/usr/bin/python3";
  if (!std::filesystem::exists(python) ||
      std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is absent: skipping the independent MLX reader check";
  test::TempDir dir;
  const int64_t n = 8, k = 256;
  const std::vector<float> w = normal_floats(n * k, 51);
  std::vector<QuantizedTensor> quantized;
  std::string overrides;
  for (int bits : kAllBits) {
    const int group = bits == 3 ? 32 : bits == 5 ? 128 : 64;
    const std::string scheme = "q" + std::to_string(bits) + (bits % 2 ? "_sym_g" : "_affine_g");
    quantized.push_back(quantize_ref("w", w, n, k, parse_scheme(scheme + std::to_string(group))));
    overrides += cat(", \"layers.b", bits, "\": {\"group_size\": ", group, ", \"bits\": ", bits, "}");
  }
  quantized.push_back(quantize_ref("w", w, n, k, parse_scheme("ternary_g64")));
  overrides += ", \"layers.ternary\": {\"group_size\": 64, \"bits\": 2}";
  const char* names[] = {"layers.b2", "layers.b3", "layers.b4",     "layers.b5",
                         "layers.b6", "layers.b8", "layers.ternary"};
  std::vector<TensorToWrite> tensors;
  std::vector<std::vector<float>> expected;
  auto bytes_of = [](const auto& v) { return std::as_bytes(std::span(v)); };
  for (size_t i = 0; i < quantized.size(); ++i) {
    const QuantizedTensor& q = quantized[i];
    const std::string base = names[i];
    tensors.push_back({base + ".weight", DType::U32, {q.n, q.words_per_row()}, bytes_of(q.packed)});
    tensors.push_back({base + ".scales", DType::F32, {q.n, q.groups_per_row()}, bytes_of(q.scales)});
    tensors.push_back({base + ".biases", DType::F32, {q.n, q.groups_per_row()}, bytes_of(q.biases)});
    expected.push_back(q.dequantize());
    std::ofstream(dir.path() / (base + ".expected.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(expected.back().data()), expected.back().size() * sizeof(float));
  }
  write_safetensors(dir.path() / "model.safetensors", tensors, {{"quantpipe.scheme", "mixed"}});
  std::ofstream(dir.path() / "config.json")
      << "{\"quantization\": {\"group_size\": 64, \"bits\": 4, \"mode\": \"affine\"" << overrides << "}}\n";
  const std::string command =
      cat("/usr/bin/python3 '", (test::source_dir() / "tests/quant/mlx_reader.py").string(), "' '",
          dir.path().string(), "'");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace qp::quant
