// Config options of MPNet, DeBERTa-v2 and MobileBERT that the engine does not build are
// refused by name (config.json and the key), never silently computed as
// something else: each test changes one key of the shared oracle's tiny model.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "models/registry.h"
#include "param_name.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

// The oracle model `arch` with config.json keys replaced (a null value removes the key).
class EditedOracle {
 public:
  EditedOracle(const std::string& arch, const nlohmann::json& edits) {
    const fs::path source = test::shared_dir() / "oracle" / (arch + "-tiny");
    fs::copy_file(source / "model.safetensors", dir_.path() / "model.safetensors");
    std::ifstream in(source / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    for (const auto& [key, value] : edits.items()) {
      if (value.is_null())
        config.erase(key);
      else
        config[key] = value;
    }
    std::ofstream(dir_.path() / "config.json") << config.dump(2);
  }
  void load() const { create_encoder(read_model_dir(dir_.path()), WeightStore::open_dir(dir_.path())); }
  std::string config_path() const { return (dir_.path() / "config.json").string(); }

 private:
  test::TempDir dir_;
};

struct Refusal {
  std::string arch;
  nlohmann::json edits;
  std::string key;  // the message names it
};

class RefusedConfig : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusedConfig, NamesTheKey) {
  QP_REQUIRE_SHARED("oracle/" + GetParam().arch + "-tiny");
  const EditedOracle model(GetParam().arch, GetParam().edits);
  test::expect_error([&] { model.load(); }, {model.config_path(), GetParam().key});
}

INSTANTIATE_TEST_SUITE_P(
    DebertaV2AndMpnet, RefusedConfig,
    ::testing::Values(
        Refusal{"deberta-v2", {{"share_att_key", false}}, "'share_att_key'"},
        Refusal{"deberta-v2", {{"share_att_key", nullptr}}, "'share_att_key'"},  // DebertaV2Config: false
        Refusal{"deberta-v2", {{"position_biased_input", true}}, "'position_biased_input'"},
        Refusal{"deberta-v2", {{"position_biased_input", nullptr}}, "'position_biased_input'"},
        Refusal{"deberta-v2", {{"relative_attention", false}}, "'relative_attention'"},
        Refusal{"deberta-v2", {{"pos_att_type", {"c2p"}}}, "'pos_att_type'"},
        Refusal{"deberta-v2", {{"pos_att_type", "p2p|c2p"}}, "'pos_att_type'"},
        Refusal{"deberta-v2", {{"pos_att_type", {"p2c", "c2p", "p2p"}}}, "'pos_att_type'"},
        Refusal{"deberta-v2", {{"conv_kernel_size", 3}}, "'conv_kernel_size'"},
        Refusal{"deberta-v2", {{"norm_rel_ebd", "none"}}, "'norm_rel_ebd'"},
        Refusal{"deberta-v2", {{"norm_rel_ebd", "layer_norm|other"}}, "'norm_rel_ebd'"},
        Refusal{"deberta-v2", {{"hidden_act", "gelu_new"}}, "'hidden_act'"},
        Refusal{"deberta-v2", {{"pooler_hidden_act", "tanh"}}, "'pooler_hidden_act'"},
        Refusal{"deberta-v2", {{"type_vocab_size", 2}}, "'type_vocab_size'"},
        Refusal{"deberta-v2", {{"embedding_size", 32}}, "'embedding_size'"},
        Refusal{"deberta-v2", {{"attention_head_size", 8}}, "'attention_head_size'"},
        Refusal{"deberta-v2", {{"position_buckets", -1}}, "'position_buckets'"},
        Refusal{"deberta-v2", {{"position_buckets", nullptr}}, "'position_buckets'"},
        Refusal{"deberta-v2", {{"max_relative_positions", 5}}, "'max_relative_positions'"},
        Refusal{"mpnet", {{"relative_attention_num_buckets", 16}}, "'relative_attention_num_buckets'"},
        Refusal{"mpnet", {{"hidden_act", "relu"}}, "'hidden_act'"},
        Refusal{"mobilebert", {{"use_bottleneck", false}}, "'use_bottleneck'"},
        Refusal{"mobilebert", {{"key_query_shared_bottleneck", false}}, "'key_query_shared_bottleneck'"},
        Refusal{"mobilebert", {{"normalization_type", "batch_norm"}}, "'normalization_type'"},
        Refusal{"mobilebert", {{"hidden_act", "gelu_new"}}, "'hidden_act'"},
        Refusal{"mobilebert", {{"true_hidden_size", 16}}, "'true_hidden_size'"},
        Refusal{"mobilebert", {{"position_embedding_type", "relative_key"}}, "'position_embedding_type'"},
        Refusal{"mobilebert", {{"num_feedforward_networks", 1}}, "'num_feedforward_networks'"}),
    [](const auto& info) {
      return qp::test::param_name(info.param.arch + "_" + info.param.edits.begin().key() + "_" +
                                  std::to_string(info.index));
    });

// The keys above at the values the oracle has load (the refusals are not a
// loader that refuses everything).
TEST(RelativeEncoderConfig, TheOracleConfigsLoad) {
  QP_REQUIRE_SHARED("oracle/deberta-v2-tiny");
  QP_REQUIRE_SHARED("oracle/mpnet-tiny");
  QP_REQUIRE_SHARED("oracle/mobilebert-tiny");
  EXPECT_NO_THROW(EditedOracle("deberta-v2", nlohmann::json::object()).load());
  EXPECT_NO_THROW(EditedOracle("mpnet", nlohmann::json::object()).load());
  EXPECT_NO_THROW(EditedOracle("mobilebert", nlohmann::json::object()).load());
  // transformers' older string form of pos_att_type is the same option.
  EXPECT_NO_THROW(EditedOracle("deberta-v2", {{"pos_att_type", "p2c|c2p"}}).load());
  EXPECT_NO_THROW(EditedOracle("deberta-v2", {{"pos_att_type", "c2p | p2c"}}).load());
}

// A checkpoint without one of the relative-position tensors is refused naming it.
TEST(RelativeEncoderWeights, MissingRelativeTensorIsNamed) {
  for (const auto& [arch, missing] : std::vector<std::pair<std::string, std::string>>{
           {"mpnet", "mpnet.encoder.relative_attention_bias.weight"},
           {"deberta-v2", "deberta.encoder.rel_embeddings.weight"},
           {"deberta-v2", "deberta.encoder.LayerNorm.weight"}}) {
    QP_REQUIRE_SHARED("oracle/" + arch + "-tiny");
    const EditedOracle model(arch, nlohmann::json::object());
    const fs::path file = fs::path(model.config_path()).parent_path() / "model.safetensors";
    std::vector<std::vector<float>> values;
    std::vector<TensorToWrite> kept;
    {
      const WeightStore weights = WeightStore::open_dir(file.parent_path());
      values.reserve(weights.names().size());
      for (const std::string& name : weights.names()) {
        if (name == missing) continue;
        const Shape& shape = weights.require(name).shape;
        values.push_back(weights.load_f32(name, shape));
        kept.push_back({name, DType::F32, shape, std::as_bytes(std::span(values.back()))});
      }
    }
    write_safetensors(file, kept);
    test::expect_error([&] { model.load(); }, {missing});
  }
}

}  // namespace
}  // namespace qp
