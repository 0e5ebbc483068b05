// The tensor table as data: roles decide the quantization plan, and a
// checkpoint is checked against it with every missing, misshaped and
// unexpected tensor named in one error.
#include "models/tensor_table.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "models/registry.h"
#include "models/tiny_model.h"
#include "quant/plan.h"
#include "test_paths.h"

namespace qp {
namespace {
namespace fs = std::filesystem;

TEST(TensorTable, FindsModulesByRoleAndTensorsByName) {
  TensorTable t;
  t.add("enc.layer.0.q", TensorRole::AttnQ, {8, 8}, 0);
  t.add("enc.norm", TensorRole::EmbeddingNorm, {8});
  t.ignored_prefixes = {"cls."};
  EXPECT_EQ(t.require(TensorRole::AttnQ, 0).module, "enc.layer.0.q");
  EXPECT_EQ(t.find(TensorRole::AttnQ, 1), nullptr);
  EXPECT_EQ(t.declaring("enc.layer.0.q.scales")->role, TensorRole::AttnQ);  // a quantized weight's parts
  EXPECT_EQ(t.declaring("enc.norm.bias")->role, TensorRole::EmbeddingNorm);
  EXPECT_EQ(t.declaring("enc.other.weight"), nullptr);
  EXPECT_TRUE(t.ignored("cls.predictions.bias"));
  EXPECT_THROW(t.require(TensorRole::FfnUp, 0), Error);
}

// A tiny BERT whose checkpoint then loses a bias, gets a misshaped query and
// an unknown tensor: the one error names all three.
TEST(TensorTable, CheckNamesEveryMissingMisshapedAndUnexpectedTensor) {
  test::TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  write_tiny_bert(dir, {.num_labels = 2});
  std::vector<std::vector<float>> values;
  std::vector<TensorToWrite> tensors;
  {
    const WeightStore original = WeightStore::open_dir(dir);
    const std::vector<std::string> names = original.names();
    values.reserve(names.size() + 1);  // the spans below point into these
    for (const std::string& name : names) {
      if (name == "bert.encoder.layer.1.output.dense.bias") continue;
      const Shape shape = original.require(name).shape;
      values.push_back(original.load_f32(name, shape));
      Shape written = shape;
      if (name == "bert.encoder.layer.0.attention.self.query.weight") written = {shape[0] / 2, shape[1] * 2};
      tensors.push_back({name, DType::F32, written, std::as_bytes(std::span(values.back()))});
    }
    values.push_back(std::vector<float>(4, 0.0f));
    tensors.push_back(
        {"bert.encoder.adapter.weight", DType::F32, {2, 2}, std::as_bytes(std::span(values.back()))});
  }
  write_safetensors(dir / "model.safetensors", tensors, {});
  const WeightStore weights = WeightStore::open_dir(dir);
  const TensorTable table = declare_tensors(read_model_dir(dir), weights);
  test::expect_error(
      [&] { check_tensors(table, weights, "bert"); },
      {"do not match a bert model", "missing: bert.encoder.layer.1.output.dense.bias",
       "misshaped: bert.encoder.layer.0.attention.self.query.weight [16, 64] (expected [32, 32])",
       "unexpected: bert.encoder.adapter.weight"});
}

// Roles, not names, decide the default plan: norms, biases, position and
// relative tables and heads stay; linear weights and word embeddings are quantized.
TEST(TensorTable, ThePlanChoosesByRole) {
  test::TempDir tmp;
  write_tiny_bert(tmp.path() / "m", {.num_labels = 2});
  const WeightStore weights = WeightStore::open_dir(tmp.path() / "m");
  const TensorTable table = declare_tensors(read_model_dir(tmp.path() / "m"), weights);
  quant::PlanOptions options;
  options.linear = quant::parse_scheme("q8_sym_ch");
  options.embedding = quant::parse_scheme("q8_affine_g32");  // the tiny model is 32 wide
  const auto plan = quant::make_plan(weights, table, options);
  std::map<std::string, std::string> reasons;
  for (const auto& p : plan) reasons[p.name] = p.reason;
  EXPECT_EQ(reasons["bert.encoder.layer.0.attention.self.query.weight"], "linear");
  EXPECT_EQ(reasons["bert.encoder.layer.0.intermediate.dense.weight"], "linear");
  EXPECT_EQ(reasons["bert.embeddings.word_embeddings.weight"], "word embeddings");
  EXPECT_EQ(reasons["bert.embeddings.position_embeddings.weight"], "kept: position / type embeddings");
  EXPECT_EQ(reasons["bert.encoder.layer.0.output.LayerNorm.weight"], "kept: normalisation");
  EXPECT_EQ(reasons["bert.encoder.layer.0.output.dense.bias"], "kept: bias");
  EXPECT_EQ(reasons["classifier.weight"], "kept: classification head");
  EXPECT_EQ(reasons["bert.pooler.dense.weight"], "kept: classification head");
  options.overrides = {quant::parse_override("classifier=q8_sym_ch")};
  options.keep = {"layer\\.0\\.intermediate"};
  for (const auto& p : quant::make_plan(weights, table, options)) {
    if (p.name == "classifier.weight") {
      EXPECT_EQ(p.action, quant::TensorAction::Quantize) << p.reason;
    }
    if (p.name == "bert.encoder.layer.0.intermediate.dense.weight") {
      EXPECT_EQ(p.reason, "kept: --keep 'layer\\.0\\.intermediate'");
    }
  }
}

}  // namespace
}  // namespace qp
