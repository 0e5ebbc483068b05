// Compression of minilm-l6-genre: the sizes in the conversion report must meet
// the ratios for the quantized linear weights, and the written files
// must really hold packed integer codes (MLX layout: U32 .weight of shape
// [N, K·bits/32] with .scales/.biases beside it) — no fake quantization — with
// config.json's "quantization" block as MLX reads it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "io/safetensors.h"
#include "quant/convert.h"
#include "quant/format_table.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CompressionCase {
  std::string scheme;
  double max_linear_ratio;  // stored codes+scales+biases ÷ fp32 bytes of the quantized linear weights
};

class QuantCompression : public ::testing::TestWithParam<CompressionCase> {};

TEST_P(QuantCompression, GenreModelMeetsRatioAndStoresPackedCodes) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const CompressionCase& c = GetParam();
  const fs::path source = test::shared_dir() / "models/minilm-l6-genre";
  const test::TempDir dir;
  const fs::path out = dir.path() / "genre";
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme(c.scheme);
  const quant::ConvertReport report = quant::convert_model(source, out, options);

  // Sizes, from the report and as written to quantpipe.json.
  const json body = report.to_json(options);
  json written;
  std::ifstream(out / "quantpipe.json") >> written;
  EXPECT_EQ(written["sizes"], body["sizes"]);
  const json& sizes = body["sizes"];
  const double linear_ratio = sizes["linear"]["ratio_vs_fp32"].get<double>();
  const double embedding_ratio = sizes["word_embeddings"]["ratio_vs_fp32"].get<double>();
  const double whole_fp32 = static_cast<double>(sizes["linear"]["fp32_bytes"].get<int64_t>() +
                                                sizes["word_embeddings"]["fp32_bytes"].get<int64_t>() +
                                                sizes["kept"]["fp32_bytes"].get<int64_t>());
  const double whole_ratio = sizes["quantized_bytes"].get<double>() / whole_fp32;
  char line[256];
  std::snprintf(line, sizeof line,
                "[ compression ] genre %-13s linear %.4f× of fp32, word embeddings %.2f MiB (%.4f× of fp32), "
                "whole model %.2f → %.2f MiB (%.4f×)",
                c.scheme.c_str(), linear_ratio,
                sizes["word_embeddings"]["stored_bytes"].get<double>() / (1 << 20), embedding_ratio,
                whole_fp32 / (1 << 20), sizes["quantized_bytes"].get<double>() / (1 << 20), whole_ratio);
  std::cout << line << std::endl;
  EXPECT_LE(linear_ratio, c.max_linear_ratio);
  EXPECT_GT(linear_ratio, 0.0);
  EXPECT_LT(whole_ratio, 0.5);

  // The file on disk: packed U32 codes with scales and biases, nothing in float.
  const SafetensorsFile file(out / "model.safetensors");
  int quantized = 0;
  for (const quant::ConvertedTensor& t : report.tensors) {
    const std::string module = t.plan.module_path();
    if (t.plan.action == quant::TensorAction::Keep) {
      const TensorView* kept = file.find(t.plan.name);
      ASSERT_NE(kept, nullptr) << t.plan.name;
      EXPECT_EQ(kept->dtype, t.plan.dtype) << t.plan.name;
      EXPECT_EQ(kept->shape, t.plan.shape) << t.plan.name;
      continue;
    }
    ++quantized;
    const int bits = quant::weight_format(*t.plan.scheme).bits;
    const int64_t n = t.plan.shape[0], k = t.plan.shape[1];
    const int group = quant::storage_group(*t.plan.scheme, k);
    const TensorView* codes = file.find(module + ".weight");
    const TensorView* scales = file.find(module + ".scales");
    const TensorView* biases = file.find(module + ".biases");
    ASSERT_NE(codes, nullptr) << module;
    ASSERT_NE(scales, nullptr) << module;
    ASSERT_NE(biases, nullptr) << module;
    EXPECT_EQ(codes->dtype, DType::U32) << module;
    EXPECT_EQ(codes->shape, (Shape{n, k * bits / 32})) << module;
    EXPECT_EQ(scales->shape, (Shape{n, k / group})) << module;
    EXPECT_EQ(biases->shape, scales->shape) << module;
    EXPECT_EQ(static_cast<int64_t>(codes->nbytes + scales->nbytes + biases->nbytes), t.stored_bytes)
        << module;
  }
  EXPECT_EQ(quantized,
            6 * 6 + 1);  // q, k, v, attention out, intermediate, output per layer + word embeddings

  // config.json: MLX's quantization block.
  json config;
  std::ifstream(out / "config.json") >> config;
  ASSERT_TRUE(config.contains("quantization")) << config.dump(2);
  const json& q = config["quantization"];
  EXPECT_EQ(q["mode"], "affine");
  EXPECT_EQ(q["bits"].get<int>(), quant::weight_format(options.plan.linear).bits);
  EXPECT_EQ(q["group_size"].get<int>(), quant::storage_group(options.plan.linear, 384));
  ASSERT_TRUE(q.contains("bert.embeddings.word_embeddings")) << q.dump(2);
  const json& embedding = q["bert.embeddings.word_embeddings"];
  ASSERT_TRUE(embedding.is_object()) << q.dump(2);
  EXPECT_EQ(embedding["bits"], 8);
  EXPECT_EQ(embedding["group_size"], 64);
  for (const char* kept : {"bert.pooler.dense", "classifier", "bert.embeddings.position_embeddings",
                           "bert.embeddings.token_type_embeddings"}) {
    ASSERT_TRUE(q.contains(kept)) << kept << " not in " << q.dump(2);
    EXPECT_EQ(q[kept], false) << kept;
  }
  // Every quantized module has its own entry, as mlx-lm writes them (mlx-embeddings needs them).
  const json& query = q["bert.encoder.layer.0.attention.self.query"];
  ASSERT_TRUE(query.is_object()) << q.dump(2);
  EXPECT_EQ(query["bits"], q["bits"]);
  EXPECT_EQ(query["group_size"], q["group_size"]);
}

INSTANTIATE_TEST_SUITE_P(Schemes, QuantCompression,
                         ::testing::Values(CompressionCase{"q8_sym_ch", 0.27},
                                           CompressionCase{"q4_affine_g64", 0.16},
                                           CompressionCase{"ternary_g64", 0.10}),
                         [](const auto& info) { return info.param.scheme; });

}  // namespace
}  // namespace qp
