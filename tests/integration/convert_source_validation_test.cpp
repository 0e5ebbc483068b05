// `quantpipe convert` refuses every source that the engine's loader refuses,
// instead of writing a model that fails later (issue 10, item 6), and refuses
// config and checkpoint semantics that would otherwise be silently accepted.
// Each case breaks one thing in a good tiny model; convert must exit non-zero
// with one line naming the file and the problem, and write nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "model_edit.h"
#include "models/tiny_model.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::run_cli;

struct BrokenSource {
  const char* name;
  std::function<void(const fs::path& model)> breaks;
  std::vector<std::string> message;  // parts of the error line
};

void set_key(const fs::path& dir, const std::string& key, const json& value) {
  test::edit_config(dir, [&](json& c) { c[key] = value; });
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const std::string kLayer = "bert.encoder.layer.";

std::vector<BrokenSource> broken_sources() {
  return {
      {"hidden_size_string",
       [](const fs::path& m) { set_key(m, "hidden_size", "64"); },
       {"config.json", "key 'hidden_size' is \"64\" (a string), expected an integer"}},
      {"hidden_size_zero",
       [](const fs::path& m) { set_key(m, "hidden_size", 0); },
       {"config.json", "key 'hidden_size' is 0"}},
      {"heads_do_not_divide_hidden",
       [](const fs::path& m) { set_key(m, "num_attention_heads", 5); },
       {"config.json", "not divisible by num_attention_heads 5"}},
      {"unsupported_activation",
       [](const fs::path& m) { set_key(m, "hidden_act", "swish"); },
       {"config.json", "activation \"swish\" is not supported"}},
      {"huge_activation_string_is_not_echoed_whole",
       [](const fs::path& m) { set_key(m, "hidden_act", std::string(5 << 20, 'x')); },
       {"config.json", "(5242880 bytes)"}},
      {"deeply_nested_hidden_act",  // once a stack overflow, and an 18 MB config.json written by convert
       [](const fs::path& m) {
         std::ifstream in(m / "config.json");
         std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
         const size_t at = text.find("\"hidden_act\": \"gelu\"");
         text.replace(at, 20, "\"hidden_act\": " + std::string(100000, '[') + std::string(100000, ']'));
         write_text(m / "config.json", text);
       },
       {"config.json", "nesting is deeper than 64 levels"}},
      {"vocab_size_disagrees",
       [](const fs::path& m) { set_key(m, "vocab_size", 500); },
       {"word_embeddings.weight", "expected [500, 64]"}},
      {"type_vocab_disagrees",
       [](const fs::path& m) { set_key(m, "type_vocab_size", 3); },
       {"token_type_embeddings.weight", "expected [3, 64]"}},
      {"positions_disagree",
       [](const fs::path& m) { set_key(m, "max_position_embeddings", 80); },
       {"position_embeddings.weight", "expected [80, 64]"}},
      {"fewer_layers_than_the_file",
       [](const fs::path& m) { set_key(m, "num_hidden_layers", 1); },
       {"config.json", "key 'num_hidden_layers' is 1 but the weights hold 'bert.encoder.layer.1."}},
      {"negative_layers",
       [](const fs::path& m) { set_key(m, "num_hidden_layers", -2); },
       {"config.json", "key 'num_hidden_layers' is -2"}},
      {"negative_layer_norm_eps",
       [](const fs::path& m) { set_key(m, "layer_norm_eps", -1e-12); },
       {"config.json", "key 'layer_norm_eps'", "positive"}},
      {"classifier_rows_disagree_with_id2label",
       [](const fs::path& m) {
         set_key(m, "id2label", json{{"0", "a"}, {"1", "b"}, {"2", "c"}});
       },
       {"config.json", "id2label names 3 labels but the classifier has 2 outputs"}},
      {"unknown_problem_type",
       [](const fs::path& m) { set_key(m, "problem_type", "ranking"); },
       {"config.json", "problem_type \"ranking\" is not supported"}},
      {"duplicate_config_key",
       [](const fs::path& m) {
         write_text(
             m / "config.json",
             R"({"model_type": "bert", "hidden_size": 64, "hidden_size": 32, "num_attention_heads": 4})");
       },
       {"config.json", "key \"hidden_size\" appears twice"}},
      {"number_overflow_in_config",
       [](const fs::path& m) {
         std::ifstream in(m / "config.json");
         std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
         text.replace(text.find("\"layer_norm_eps\": "), 18, "\"layer_norm_eps\": 1e400, \"x\": ");
         write_text(m / "config.json", text);
       },
       {"config.json", "number overflow", "1e400"}},
      {"missing_tensor",
       [](const fs::path& m) {
         test::edit_tensors(
             m, [](test::EditableTensor& t) { t.keep = t.name != kLayer + "0.attention.output.dense.bias"; });
       },
       {"do not match a bert model", "missing: bert.encoder.layer.0.attention.output.dense.bias"}},
      {"wrong_dtype",
       [](const fs::path& m) {
         test::edit_tensors(m, [](test::EditableTensor& t) {
           if (t.name == kLayer + "1.output.dense.bias") t.dtype = DType::I32;
         });
       },
       {"bert.encoder.layer.1.output.dense.bias", "I32"}},
      {"wrong_shape",
       [](const fs::path& m) {
         test::edit_tensors(m, [](test::EditableTensor& t) {
           if (t.name == kLayer + "0.intermediate.dense.weight") t.shape = {64, 128};
         });
       },
       {"bert.encoder.layer.0.intermediate.dense.weight", "expected [128, 64]"}},
      {"nan_in_a_kept_tensor",
       [](const fs::path& m) {
         test::poison_tensor(m, kLayer + "0.output.LayerNorm.weight",
                             std::numeric_limits<float>::quiet_NaN());
       },
       {"bert.encoder.layer.0.output.LayerNorm.weight", "NaN"}},
      {"inf_in_layer_norm",
       [](const fs::path& m) {
         test::poison_tensor(m, "bert.embeddings.LayerNorm.weight", std::numeric_limits<float>::infinity());
       },
       {"bert.embeddings.LayerNorm.weight", "+Inf"}},
      {"truncated_tokenizer_json",
       [](const fs::path& m) {
         write_text(m / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK)");
       },
       {"tokenizer.json", "invalid JSON"}},
      {"tokenizer_json_of_another_shape",
       [](const fs::path& m) {
         write_text(m / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": null}})");
       },
       {"tokenizer.json", "missing key 'model.vocab'"}},
      {"negative_token_id",
       [](const fs::path& m) {
         write_text(m / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": -3}}})");
       },
       {"tokenizer.json", "key 'model.vocab.[UNK]' is -3", "from 0 to 2147483647"}},
      {"token_id_beyond_32_bits",
       [](const fs::path& m) {
         write_text(m / "tokenizer.json",
                    R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 4294967296}}})");
       },
       {"tokenizer.json", "4294967296", "from 0 to 2147483647"}},
      {"tokenizer_larger_than_the_embeddings",
       [](const fs::path& m) { std::ofstream(m / "vocab.txt", std::ios::app) << "extra1\nextra2\n"; },
       {"the tokenizer has token id", "word embeddings have"}},
  };
}

class ConvertSourceValidation : public ::testing::TestWithParam<BrokenSource> {};

TEST_P(ConvertSourceValidation, IsRefusedWithTheFileAndTheProblem) {
  test::TempDir tmp;
  const fs::path model = tmp.path() / "model";
  TinyBertSpec spec;
  spec.hidden = 64;
  spec.intermediate = 128;
  spec.num_labels = 2;
  write_tiny_bert(model, spec);
  GetParam().breaks(model);

  const fs::path out = tmp.path() / "out";
  const test::CliResult r = run_cli({"convert", "--model", model.string(), "--out", out.string()});
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  const std::vector<std::string> errors = test::error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r;
  EXPECT_LT(errors[0].size(), 600u) << "an error line echoes too much";
  for (const std::string& part : GetParam().message)
    EXPECT_TRUE(test::contains(errors[0], part)) << "'" << part << "' not in: " << errors[0];
  EXPECT_FALSE(fs::exists(out));

  // The engine refuses it the same way: convert is no more lenient than the loader.
  write_text(tmp.path() / "input.txt", "hello world\n");
  const test::CliResult embed =
      run_cli({"embed", "--model", model.string(), "--input", (tmp.path() / "input.txt").string()});
  EXPECT_EQ(embed.term_signal, 0) << embed;
  EXPECT_EQ(embed.exit_code, 1) << embed;
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvertSourceValidation, ::testing::ValuesIn(broken_sources()),
                         [](const ::testing::TestParamInfo<BrokenSource>& info) { return info.param.name; });

}  // namespace
}  // namespace qp
