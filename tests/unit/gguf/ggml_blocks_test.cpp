// ggml block formats against the PyPI gguf package (tests/golden/gguf), and
// quantpipe's codes carried into blocks unchanged.
#include "quant/ggml_blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "core/half.h"
#include "hex_golden.h"
#include "quant/quantize_ref.h"
#include "test_paths.h"

namespace qp::quant {
namespace {

using test::hex_bytes;
using test::hex_floats;

const nlohmann::json& golden() {
  static const nlohmann::json json = test::read_gguf_golden("ggml_blocks.json");
  return json;
}

class GgmlBlocksGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgmlBlocksGolden, QuantizeAndDequantizeMatchTheGgufPackage) {
  const auto& g = golden();
  const int64_t k = g["k"];
  const std::vector<float> x = hex_floats(g["input_f32"]);
  const auto& expected = g["types"][GetParam()];
  const GgmlTypeInfo* info = find_ggml_type(GetParam());
  ASSERT_NE(info, nullptr);

  const std::vector<uint8_t> bytes = ggml_quantize(info->type, x, k);
  const std::vector<uint8_t> want = hex_bytes(expected["bytes"]);
  ASSERT_EQ(bytes.size(), want.size());
  size_t first_diff = bytes.size();
  for (size_t i = 0; i < bytes.size() && first_diff == bytes.size(); ++i)
    if (bytes[i] != want[i]) first_diff = i;
  EXPECT_EQ(first_diff, bytes.size()) << GetParam() << ": first differing byte " << first_diff << " (block "
                                      << first_diff / static_cast<size_t>(info->bytes) << ")";

  const std::vector<float> back = ggml_dequantize(info->type, want, static_cast<int64_t>(x.size()));
  const std::vector<float> want_back = hex_floats(expected["dequantized_f32"]);
  ASSERT_EQ(back.size(), want_back.size());
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], want_back[i]) << GetParam() << " value " << i;
}

INSTANTIATE_TEST_SUITE_P(Types, GgmlBlocksGolden,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "TQ1_0", "TQ2_0", "BF16"),
                         [](const auto& info) { return info.param; });

TEST(GgmlBlocks, TableIsConsistentAndNamesResolve) {
  for (const GgmlTypeInfo& info : ggml_types()) {
    EXPECT_EQ(find_ggml_type(static_cast<uint32_t>(info.type)), &info);
    EXPECT_EQ(find_ggml_type(info.name), &info);
    EXPECT_GT(info.bytes, 0);
  }
  EXPECT_EQ(find_ggml_type("q4_k"), find_ggml_type("Q4_K"));
  EXPECT_EQ(find_ggml_type(16u), nullptr);  // IQ2_XXS: not one quantpipe knows
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_0, 384), 12 * 18);
  EXPECT_THROW(ggml_row_bytes(GgmlType::TQ2_0, 384), qp::Error);
}

std::vector<float> random_weights(int64_t n, int64_t k, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(n * k));
  for (float& v : w) v = dist(rng);
  return w;
}

struct CarryCase {
  const char* scheme;
  GgmlType type;
  bool carries;
};

class GgmlCarry : public ::testing::TestWithParam<CarryCase> {};

// The carried block holds quantpipe's codes: dequantized, each value is the
// code's value under the half-rounded scale and bias, and nothing else moved.
TEST_P(GgmlCarry, CodesCarryOverUnchanged) {
  const CarryCase& c = GetParam();
  const int64_t n = 6, k = 512;
  const std::vector<float> w = random_weights(n, k, 7);
  const QuantizedCodes q = quantize_codes_ref("w", w, n, k, parse_scheme(c.scheme));
  const int64_t groups = k / q.group;
  for (int64_t r = 0; r < n; ++r) {
    const CodeRow row{q.codes.data() + r * k, q.scales.data() + r * groups, q.biases.data() + r * groups, k,
                      q.group};
    const auto blocks = ggml_carry_codes(c.type, row);
    ASSERT_EQ(blocks.has_value(), c.carries) << c.scheme << " → " << ggml_type_info(c.type).name;
    if (!blocks) continue;
    const std::vector<float> back = ggml_dequantize(c.type, *blocks, k);
    const bool affine = ggml_type_info(c.type).codes == GgmlCodes::Affine;
    for (int64_t i = 0; i < k; ++i) {
      const float scale = q.scales[r * groups + i / q.group], bias = q.biases[r * groups + i / q.group];
      const float d = f16_to_f32(f32_to_f16(scale));
      const float code = q.codes[r * k + i];
      const float want =
          affine ? code * d + f16_to_f32(f32_to_f16(bias)) : (code - std::round(-bias / scale)) * d;
      ASSERT_NEAR(back[i], want, 1e-7f * (1.0f + std::fabs(want)))
          << c.scheme << " row " << r << " value " << i;
      // and the value is the one quantpipe stores, up to the half rounding of the scale
      ASSERT_NEAR(back[i], scale * code + bias, 5e-4f * (std::fabs(scale * code) + std::fabs(bias)) + 1e-7f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, GgmlCarry,
    ::testing::Values(
        CarryCase{"q8_sym_g32", GgmlType::Q8_0, true}, CarryCase{"q8_sym_ch", GgmlType::Q8_0, true},
        CarryCase{"q6_sym_g64", GgmlType::Q8_0, true}, CarryCase{"q4_sym_g64", GgmlType::Q4_0, true},
        CarryCase{"q4_sym_g32", GgmlType::Q8_0, true}, CarryCase{"q3_sym_g32", GgmlType::Q4_0, true},
        CarryCase{"q4_affine_g64", GgmlType::Q4_1, true}, CarryCase{"q2_affine_g128", GgmlType::Q4_1, true},
        CarryCase{"q5_sym_g32", GgmlType::Q5_0, true}, CarryCase{"q5_affine_g32", GgmlType::Q5_1, true},
        CarryCase{"ternary_g64", GgmlType::Q4_0, true}, CarryCase{"ternary_ch", GgmlType::TQ2_0, true},
        CarryCase{"ternary_tensor", GgmlType::TQ1_0, true}, CarryCase{"q2_sym_ch", GgmlType::TQ2_0, true},
        // what the blocks cannot hold: mixed scales in a 256 block, wider codes, a bias
        CarryCase{"ternary_g64", GgmlType::TQ2_0, false}, CarryCase{"q4_affine_g64", GgmlType::TQ2_0, false},
        CarryCase{"q5_sym_g32", GgmlType::Q4_0, false}, CarryCase{"q8_sym_g32", GgmlType::Q5_0, false}),
    [](const auto& info) {
      return std::string(info.param.scheme) + "_" + std::string(ggml_type_info(info.param.type).name) +
             (info.param.carries ? "" : "_refused");
    });

TEST(GgmlBlocks, QuantizedBlocksStayCloseToTheirInput) {
  const int64_t k = 512;
  const std::vector<float> w = random_weights(4, k, 11);
  const std::pair<GgmlType, float> bounds[] = {{GgmlType::Q8_0, 0.01f}, {GgmlType::Q5_0, 0.05f},
                                               {GgmlType::Q5_1, 0.05f}, {GgmlType::Q4_0, 0.1f},
                                               {GgmlType::Q4_1, 0.1f},  {GgmlType::F16, 1e-3f}};
  for (const auto& [type, bound] : bounds) {
    const std::vector<float> back =
        ggml_dequantize(type, ggml_quantize(type, w, k), static_cast<int64_t>(w.size()));
    double err = 0, ref = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      err += (back[i] - w[i]) * (back[i] - w[i]);
      ref += w[i] * w[i];
    }
    EXPECT_LT(std::sqrt(err / ref), bound) << ggml_type_info(type).name;
  }
}

}  // namespace
}  // namespace qp::quant

namespace qp::quant {
namespace {

// Blocks read back as quantpipe codes give the blocks' own values, for every
// type that holds codes, and carrying those codes again gives the same bytes.
TEST(GgmlBlocks, BlocksReadBackAsCodesWithTheirValues) {
  const int64_t n = 3, k = 512;
  const std::vector<float> w = random_weights(n, k, 5);
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    const std::vector<uint8_t> bytes = ggml_quantize(type, w, k);
    const std::vector<float> want = ggml_dequantize(type, bytes, n * k);
    const auto codes = ggml_block_codes(type, bytes, n, k);
    ASSERT_TRUE(codes.has_value()) << ggml_type_info(type).name;
    const int64_t groups = k / codes->group;
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        const size_t g = static_cast<size_t>(r * groups + i / codes->group);
        const float value =
            codes->scales[g] * codes->codes[static_cast<size_t>(r * k + i)] + codes->biases[g];
        ASSERT_NEAR(value, want[static_cast<size_t>(r * k + i)], 1e-6f * (1.0f + std::fabs(want[r * k + i])))
            << ggml_type_info(type).name << " row " << r << " value " << i;
        ASSERT_LT(codes->codes[static_cast<size_t>(r * k + i)], 1 << codes->bits);
      }
      const CodeRow row{codes->codes.data() + r * k, codes->scales.data() + r * groups,
                        codes->biases.data() + r * groups, k, codes->group};
      const auto again = ggml_carry_codes(type, row);
      ASSERT_TRUE(again.has_value()) << ggml_type_info(type).name;
      const int64_t row_bytes = ggml_row_bytes(type, k);
      EXPECT_TRUE(std::equal(again->begin(), again->end(), bytes.begin() + r * row_bytes))
          << ggml_type_info(type).name << " row " << r;
    }
  }
  EXPECT_FALSE(ggml_block_codes(GgmlType::F16, std::vector<uint8_t>(2 * k), 1, k).has_value());
}

}  // namespace
}  // namespace qp::quant
