#include "io/model_dir.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "io_test_util.h"
#include "models/tiny_model.h"
#include "test_paths.h"

namespace qp {
namespace {

using test::expect_error;
using test::TempDir;
namespace fs = std::filesystem;

// A model dir with the given config.json text and, optionally, modules.json.
void write_config(const std::filesystem::path& dir, const std::string& config) {
  write_file_atomic(dir / "config.json", config);
}

TEST(ModelDir, ReadsConfigArchitecturesAndLabels) {
  TempDir tmp;
  write_config(tmp.path(), R"({"model_type":"bert","architectures":["BertForSequenceClassification"],
      "hidden_size":384,"layer_norm_eps":1e-12,"hidden_act":"gelu","classifier_dropout":null,
      "id2label":{"2":"c","0":"a","1":"b"}})");
  const ModelDir model = read_model_dir(tmp.path());
  EXPECT_EQ(model.model_type, "bert");
  EXPECT_TRUE(model.has_architecture("BertForSequenceClassification"));
  EXPECT_FALSE(model.has_architecture("BertModel"));
  EXPECT_EQ(model.id2label, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(model.sentence_transformer.has_value());
  EXPECT_EQ(config_int(model, "hidden_size"), 384);
  EXPECT_EQ(config_int_or(model, "num_hidden_layers", 6), 6);
  EXPECT_DOUBLE_EQ(config_double_or(model, "layer_norm_eps", 1e-5), 1e-12);
  EXPECT_DOUBLE_EQ(config_double_or(model, "hidden_size", 0.0), 384.0);
  EXPECT_DOUBLE_EQ(config_double_or(model, "classifier_dropout", 0.25), 0.25);
  EXPECT_EQ(config_string_or(model, "hidden_act", "relu"), "gelu");
  EXPECT_EQ(config_string_or(model, "position_embedding_type", "absolute"), "absolute");
}

TEST(ModelDir, ConfigHelpersNameFileKeyAndType) {
  TempDir tmp;
  write_config(tmp.path(),
               R"({"model_type":"bert","hidden_size":"384","eps":"small","act":3,"big":3000000000,"f":1.5})");
  const ModelDir model = read_model_dir(tmp.path());
  const std::string file = (tmp.path() / "config.json").string();
  expect_error([&] { config_int(model, "num_layers"); }, {file, "missing key 'num_layers'"});
  expect_error([&] { config_int(model, "hidden_size"); }, {file, "key 'hidden_size'", "expected an integer"});
  expect_error([&] { config_int_or(model, "f", 1); }, {file, "key 'f'", "expected an integer"});
  expect_error([&] { config_int(model, "big"); },
               {file, "key 'big'", "expected an integer from 1 to 1073741824"});
  expect_error([&] { config_double_or(model, "eps", 1.0); }, {file, "key 'eps'", "expected a number"});
  expect_error([&] { config_string_or(model, "act", "gelu"); }, {file, "key 'act'", "expected a string"});
}

TEST(ModelDir, MissingOrBrokenConfig) {
  TempDir tmp;
  const std::string file = (tmp.path() / "config.json").string();
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "not found"});
  write_config(tmp.path(), "{\n  \"model_type\": \"bert\",\n  oops\n}");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "invalid JSON", "line 3"});
  write_config(tmp.path(), R"(["bert"])");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "expected a JSON object, found an array"});
  write_config(tmp.path(), R"({"hidden_size": 4})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file + ": missing key 'model_type'"});
  write_config(tmp.path(), R"({"model_type": 7})");
  expect_error([&] { read_model_dir(tmp.path()); },
               {file, "key 'model_type' is 7 (an integer), expected a string"});
  write_config(tmp.path(), R"({"model_type": "bert", "architectures": "BertModel"})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "key 'architectures'"});
}

TEST(ModelDir, Id2LabelMustBeDense) {
  TempDir tmp;
  const std::string file = (tmp.path() / "config.json").string();
  write_config(tmp.path(), R"({"model_type":"bert","id2label":{"0":"a","2":"c"}})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "id2label key '2' is out of range"});
  write_config(tmp.path(), R"({"model_type":"bert","id2label":{"zero":"a"}})");
  expect_error([&] { read_model_dir(tmp.path()); },
               {file, "id2label key \"zero\" is not a non-negative integer"});
  write_config(tmp.path(), R"({"model_type":"bert","id2label":{"0":1}})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "expected a string"});
}

void write_modules(const std::filesystem::path& dir, const std::string& pooling_config) {
  write_config(dir, R"({"model_type":"bert"})");
  write_file_atomic(dir / "modules.json",
                    R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                        {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                        {"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"},
                        {"idx":3,"name":"3","path":"3_Normalize","type":"sentence_transformers.models.Normalize"}])");
  std::filesystem::create_directories(dir / "1_Pooling");
  std::filesystem::create_directories(dir / "2_Dense");
  write_file_atomic(dir / "1_Pooling/config.json", pooling_config);
  write_file_atomic(dir / "2_Dense/config.json",
                    R"({"in_features":384,"out_features":256,"bias":false,
                        "activation_function":"torch.nn.modules.activation.Tanh"})");
}

TEST(ModelDir, SentenceTransformerModules) {
  TempDir tmp;
  write_modules(tmp.path(), R"({"word_embedding_dimension":384,"pooling_mode_cls_token":true,
                                "pooling_mode_mean_tokens":false,"pooling_mode_weightedmean_tokens":false})");
  const ModelDir model = read_model_dir(tmp.path());
  ASSERT_TRUE(model.sentence_transformer.has_value());
  const SentenceTransformerConfig& st = *model.sentence_transformer;
  EXPECT_EQ(st.pooling.mode, PoolingMode::Cls);
  EXPECT_TRUE(st.normalize);
  ASSERT_EQ(st.dense.size(), 1u);
  EXPECT_EQ(st.dense[0].dir, tmp.path() / "2_Dense");
  EXPECT_EQ(st.dense[0].in_features, 384);
  EXPECT_EQ(st.dense[0].out_features, 256);
  EXPECT_FALSE(st.dense[0].bias);
  EXPECT_EQ(st.dense[0].activation, "torch.nn.modules.activation.Tanh");
}

TEST(ModelDir, UnsupportedPoolingModes) {
  TempDir tmp;
  const std::string file = (tmp.path() / "1_Pooling" / "config.json").string();
  write_modules(tmp.path(), R"({"pooling_mode_mean_tokens":false,"pooling_mode_weightedmean_tokens":true})");
  expect_error([&] { read_model_dir(tmp.path()); },
               {file, "pooling mode 'pooling_mode_weightedmean_tokens' is not supported"});
  write_modules(tmp.path(), R"({"pooling_mode_lasttoken":true})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "'pooling_mode_lasttoken' is not supported"});
  write_modules(tmp.path(), R"({"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "combined pooling is not supported"});
  write_modules(tmp.path(), R"({"pooling_mode_mean_tokens":false})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "no pooling mode is enabled"});
  write_modules(tmp.path(), R"({"pooling_mode_mean_tokens":"yes"})");
  expect_error([&] { read_model_dir(tmp.path()); },
               {file, "'pooling_mode_mean_tokens' is \"yes\" (a string), expected true or false"});
}

TEST(ModelDir, ModulesWithoutPoolingOrWithUnknownTypes) {
  TempDir tmp;
  const std::string file = (tmp.path() / "modules.json").string();
  write_config(tmp.path(), R"({"model_type":"bert"})");
  write_file_atomic(tmp.path() / "modules.json",
                    R"([{"path":"","type":"sentence_transformers.models.Transformer"}])");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "no Pooling module"});
  write_file_atomic(tmp.path() / "modules.json",
                    R"([{"path":"x","type":"sentence_transformers.models.LSTM"}])");
  expect_error([&] { read_model_dir(tmp.path()); },
               {file, "module type \"sentence_transformers.models.LSTM\" is not supported"});
  write_file_atomic(tmp.path() / "modules.json", R"([{"type":"sentence_transformers.models.Pooling"}])");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "missing key '[0].path'"});
  write_file_atomic(tmp.path() / "modules.json", R"({"0": "x"})");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "expected a list of modules"});
  write_file_atomic(tmp.path() / "modules.json",
                    R"([{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
  expect_error([&] { read_model_dir(tmp.path()); },
               {(tmp.path() / "1_Pooling" / "config.json").string(), "not found"});
  // Module folders stay inside the model directory: a modules.json may not
  // send the reader to another folder's config.json.
  for (const char* path : {"/etc", "../other_model/1_Pooling", "1_Pooling/../../x", ""}) {
    SCOPED_TRACE(path);
    write_file_atomic(
        tmp.path() / "modules.json",
        std::string(R"([{"path":")") + path + R"(","type":"sentence_transformers.models.Pooling"}])");
    expect_error([&] { read_model_dir(tmp.path()); },
                 {file, "[0].path", "expected a folder inside the model directory"});
  }
  write_file_atomic(tmp.path() / "modules.json", R"([{"path":"../2_Dense","type":"Dense"}])");
  expect_error([&] { read_model_dir(tmp.path()); }, {file, "expected a folder inside the model directory"});
}

TEST(ModelDir, DenseModuleNeedsFeatures) {
  TempDir tmp;
  write_modules(tmp.path(), R"({"pooling_mode_mean_tokens":true})");
  write_file_atomic(tmp.path() / "2_Dense/config.json", R"({"in_features":384})");
  expect_error([&] { read_model_dir(tmp.path()); },
               {(tmp.path() / "2_Dense" / "config.json").string(), "missing key 'out_features'"});
}

TEST(SharedModels, GenreConfig) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const ModelDir model = read_model_dir(test::shared_dir() / "models/minilm-l6-genre");
  EXPECT_EQ(model.model_type, "bert");
  EXPECT_TRUE(model.has_architecture("BertForSequenceClassification"));
  EXPECT_EQ(model.id2label, (std::vector<std::string>{"caption", "review", "encyclopedic", "general"}));
  EXPECT_EQ(config_int(model, "num_hidden_layers"), 6);
  EXPECT_DOUBLE_EQ(config_double_or(model, "layer_norm_eps", 0.0), 1e-12);
  EXPECT_FALSE(model.sentence_transformer.has_value());
}

TEST(SharedModels, NliConfig) {
  QP_REQUIRE_SHARED("models/minilm-l6-nli");
  const ModelDir model = read_model_dir(test::shared_dir() / "models/minilm-l6-nli");
  EXPECT_EQ(model.id2label, (std::vector<std::string>{"entailment", "neutral", "contradiction"}));
}

TEST(SharedModels, StsSentenceTransformerConfig) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  const ModelDir model = read_model_dir(test::shared_dir() / "models/minilm-l6-sts");
  EXPECT_TRUE(model.has_architecture("BertModel"));
  EXPECT_TRUE(model.id2label.empty());
  ASSERT_TRUE(model.sentence_transformer.has_value());
  EXPECT_EQ(model.sentence_transformer->pooling.mode, PoolingMode::Mean);
  EXPECT_TRUE(model.sentence_transformer->normalize);
  EXPECT_TRUE(model.sentence_transformer->dense.empty());
  EXPECT_EQ(model.sentence_transformer->max_seq_length, 256);
}

TEST(SharedModels, PublishedMiniLmTokenizerDir) {
  QP_REQUIRE_SHARED("tokenizers/all-MiniLM-L6-v2/modules.json");
  const ModelDir model = read_model_dir(test::shared_dir() / "tokenizers/all-MiniLM-L6-v2");
  ASSERT_TRUE(model.sentence_transformer.has_value());
  EXPECT_EQ(model.sentence_transformer->pooling.mode, PoolingMode::Mean);
  EXPECT_TRUE(model.sentence_transformer->normalize);
  EXPECT_EQ(model.sentence_transformer->max_seq_length, 256)
      << "sentence_bert_config.json, not the tokenizer's 128";
}

// Issue 11: sentence_bert_config.json's max_seq_length is read, and a bad one
// is refused naming the file and the key.
TEST(ModelDir, SentenceBertConfigMaxSeqLength) {
  TempDir tmp;
  write_tiny_bert(tmp.path() / "m", {.sentence_transformer = true});
  const fs::path file = tmp.path() / "m" / "sentence_bert_config.json";
  write_file_atomic(file, R"({"max_seq_length": 40, "do_lower_case": false})");
  EXPECT_EQ(read_model_dir(tmp.path() / "m").sentence_transformer->max_seq_length, 40);
  write_file_atomic(file, R"({"do_lower_case": false})");
  EXPECT_EQ(read_model_dir(tmp.path() / "m").sentence_transformer->max_seq_length, std::nullopt);
  fs::remove(file);
  EXPECT_EQ(read_model_dir(tmp.path() / "m").sentence_transformer->max_seq_length, std::nullopt);
  write_file_atomic(file, R"({"max_seq_length": "256"})");
  expect_error([&] { read_model_dir(tmp.path() / "m"); },
               {file.string(), "max_seq_length", "expected an integer"});
  write_file_atomic(file, R"({"max_seq_length": 0})");
  expect_error([&] { read_model_dir(tmp.path() / "m"); }, {file.string(), "max_seq_length"});
}

}  // namespace
}  // namespace qp

namespace qp {
namespace {

TEST(ModelDirNative, NewerFormatVersionIsRefused) {
  test::TempDir tmp;
  write_file_atomic(tmp.path() / "config.json", R"({"model_type": "bert"})");
  write_file_atomic(tmp.path() / "quantpipe.json", R"({"format_version": 99})");
  try {
    read_model_dir(tmp.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quantpipe.json: format version 99 is newer"), std::string::npos)
        << e.what();
  }
  write_file_atomic(tmp.path() / "quantpipe.json", R"({"format_version": 1})");
  EXPECT_EQ(read_model_dir(tmp.path()).native_format_version, 1);
}

}  // namespace
}  // namespace qp
