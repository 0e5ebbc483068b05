// K-quants against llama.cpp itself: tests/golden/gguf/kquants.json holds rows
// of a real model's FFN weights, the bytes llama-quantize wrote for them, and
// those bytes dequantized by the PyPI gguf package; also which type llama.cpp
// gave each tensor whose rows (384) do not split into 256-value super-blocks.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hex_golden.h"
#include "quant/ggml_blocks.h"
#include "test_paths.h"

namespace qp::quant {
namespace {

using test::hex_bytes;
using test::hex_floats;

const nlohmann::json& golden() {
  static const nlohmann::json json = test::read_gguf_golden("kquants.json");
  return json;
}

class KQuantsGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(KQuantsGolden, BytesEqualLlamaQuantize) {
  const auto& g = golden();
  const int64_t k = g["k"];
  const std::vector<float> x = hex_floats(g["input_f32"]);
  const auto& expected = g["types"][GetParam()];
  const GgmlTypeInfo* info = find_ggml_type(GetParam());
  ASSERT_NE(info, nullptr);
  const std::vector<uint8_t> bytes = ggml_quantize(info->type, x, k);
  const std::vector<uint8_t> want = hex_bytes(expected["bytes"]);
  ASSERT_EQ(bytes.size(), want.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    ASSERT_EQ(int{bytes[i]}, int{want[i]}) << GetParam() << ": byte " << i << " of block " << i / info->bytes
                                           << " (offset " << i % info->bytes << ")";
}

TEST_P(KQuantsGolden, DequantizedEqualsTheGgufPackage) {
  const auto& expected = golden()["types"][GetParam()];
  const GgmlTypeInfo* info = find_ggml_type(GetParam());
  const std::vector<uint8_t> bytes = hex_bytes(expected["bytes"]);
  const std::vector<float> want = hex_floats(expected["dequantized_f32"]);
  const std::vector<float> got = ggml_dequantize(info->type, bytes, static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i]))) << i;
}

INSTANTIATE_TEST_SUITE_P(Types, KQuantsGolden, ::testing::Values("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace qp::quant
