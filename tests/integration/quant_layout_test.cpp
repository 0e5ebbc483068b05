// The bytes convert writes, read by code we did not write in C++: a tiny BERT
// (hidden 64, so every K is a multiple of 64) is converted at several schemes
// with the fp16 dual output, and tests/quant/mlx_reader.py --fp16 dequantizes
// every quantized module with MLX's formula from model.safetensors and
// config.json's "quantization" block and compares it with the fp16 tensor of
// the same name (equal up to float16 rounding).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "quant/convert.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

bool python_with_numpy() {
  return fs::exists("/usr/bin/python3") &&
         std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

class QuantLayout : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantLayout, PythonReaderMatchesFp16DualOutput) {
  if (!python_with_numpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy is absent: skipping the independent MLX layout check";
  const test::TempDir dir;
  const fs::path source = dir.path() / "tiny", out = dir.path() / "converted";
  TinyBertSpec spec;
  spec.hidden = 64;
  spec.heads = 4;
  spec.intermediate = 128;
  spec.num_labels = 3;
  write_tiny_bert(source, spec);

  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme(GetParam());
  options.plan.embedding = quant::parse_scheme(GetParam() == "q8_sym_ch" ? "q4_affine_g32" : "q8_affine_g64");
  options.emit_fp16 = true;
  const quant::ConvertReport report = quant::convert_model(source, out, options);
  int quantized = 0;
  for (const auto& t : report.tensors) quantized += t.plan.action == quant::TensorAction::Quantize;
  ASSERT_GT(quantized, 0);

  const test::CliResult r =
      test::run_program({"/usr/bin/python3", (test::source_dir() / "tests/quant/mlx_reader.py").string(),
                         "--fp16", out.string()});
  std::cout << r.out;
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(test::contains(r.out, std::to_string(quantized) + "/" + std::to_string(quantized) +
                                        " quantized tensors match the fp16 dual output"))
      << r;
}

// Every bit width, symmetric/affine/ternary, per group (32/64/128, where 128 on
// K=64 falls back to a smaller group) and per channel.
INSTANTIATE_TEST_SUITE_P(Schemes, QuantLayout,
                         ::testing::Values("q8_sym_ch", "q8_affine_g64", "q6_affine_g64", "q5_sym_g32",
                                           "q4_affine_g64", "q4_affine_g128", "q4_sym_ch", "q3_affine_g64",
                                           "q2_affine_g32", "ternary_g64"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace qp
