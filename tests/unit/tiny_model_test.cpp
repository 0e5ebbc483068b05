#include "models/tiny_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace qp {
namespace {

using test::expect_error;
using test::TempDir;

double mean_of(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double stddev_of(const std::vector<float>& v) {
  const double mean = mean_of(v);
  double sum = 0;
  for (float x : v) sum += (x - mean) * (x - mean);
  return std::sqrt(sum / static_cast<double>(v.size()));
}

TEST(TinyBert, VocabularyStartsWithSpecialsAndIsUnique) {
  const std::vector<std::string>& vocab = tiny_bert_vocab();
  ASSERT_GE(vocab.size(), 300u);
  EXPECT_EQ(std::vector<std::string>(vocab.begin(), vocab.begin() + 5),
            (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  EXPECT_EQ(std::set<std::string>(vocab.begin(), vocab.end()).size(), vocab.size());
  const std::set<std::string> words(vocab.begin(), vocab.end());
  for (const char* token : {"the", "a", "z", "##s", "##ing", ".", "dog", "movie", "9", "##q"})
    EXPECT_TRUE(words.count(token)) << token;
}

TEST(TinyBert, BaseModelLayoutAndWeights) {
  TempDir tmp;
  const std::filesystem::path dir = tmp.path() / "tiny";
  TinyBertSpec spec;
  spec.layers = 3;
  write_tiny_bert(dir, spec);
  for (const char* file : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  EXPECT_FALSE(std::filesystem::exists(dir / "modules.json"));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
  EXPECT_TRUE(test::temp_leftovers(dir).empty());

  const ModelDir model = read_model_dir(dir);
  EXPECT_EQ(model.model_type, "bert");
  EXPECT_TRUE(model.has_architecture("BertModel"));
  EXPECT_TRUE(model.id2label.empty());
  const int vocab = static_cast<int>(tiny_bert_vocab().size());
  EXPECT_EQ(config_int(model, "vocab_size"), vocab);
  EXPECT_EQ(config_int(model, "hidden_size"), 32);
  EXPECT_EQ(config_int(model, "num_hidden_layers"), 3);
  EXPECT_EQ(config_int(model, "max_position_embeddings"), 64);

  const WeightStore store = WeightStore::open_dir(dir);
  EXPECT_EQ(store.names().size(), 5u + 16u * 3 + 2);
  EXPECT_EQ(store.require("embeddings.word_embeddings.weight").shape, (Shape{vocab, 32}));
  EXPECT_EQ(store.require("embeddings.token_type_embeddings.weight").shape, (Shape{2, 32}));
  EXPECT_EQ(store.require("encoder.layer.2.attention.self.value.bias").shape, (Shape{32}));
  EXPECT_EQ(store.require("encoder.layer.0.intermediate.dense.weight").shape, (Shape{64, 32}));
  EXPECT_EQ(store.require("encoder.layer.1.output.dense.weight").shape, (Shape{32, 64}));
  EXPECT_EQ(store.require("pooler.dense.weight").shape, (Shape{32, 32}));
  EXPECT_EQ(store.find("bert.pooler.dense.weight"), nullptr);

  const std::vector<float> gamma = store.load_f32("encoder.layer.1.output.LayerNorm.weight", {32});
  EXPECT_NEAR(mean_of(gamma), 1.0, 0.02);
  const std::vector<float> w = store.load_f32("encoder.layer.0.intermediate.dense.weight", {64, 32});
  EXPECT_NEAR(mean_of(w), 0.0, 0.003);
  EXPECT_NEAR(stddev_of(w), 0.02, 0.002);
}

TEST(TinyBert, ClassifierUsesHfPrefixesAndLabels) {
  TempDir tmp;
  TinyBertSpec spec;
  spec.num_labels = 3;
  spec.dtype = DType::F16;
  write_tiny_bert(tmp.path(), spec);  // an existing empty directory is fine
  const ModelDir model = read_model_dir(tmp.path());
  EXPECT_TRUE(model.has_architecture("BertForSequenceClassification"));
  EXPECT_EQ(model.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(config_string_or(model, "torch_dtype", ""), "float16");
  const WeightStore store = WeightStore::open_dir(tmp.path());
  EXPECT_EQ(store.names().size(), 5u + 16u * 2 + 4);
  for (const std::string& name : store.names()) {
    EXPECT_EQ(store.require(name).dtype, DType::F16) << name;
    EXPECT_TRUE(name.starts_with("bert.") || name.starts_with("classifier.")) << name;
  }
  EXPECT_EQ(store.require("classifier.weight").shape, (Shape{3, 32}));
  EXPECT_EQ(store.require("bert.embeddings.LayerNorm.bias").shape, (Shape{32}));
  const std::vector<float> w = store.load_f32("classifier.weight", {3, 32});
  for (float x : w) EXPECT_LT(std::fabs(x), 0.2f);
}

TEST(TinyBert, SentenceTransformerFiles) {
  TempDir tmp;
  TinyBertSpec spec;
  spec.sentence_transformer = true;
  spec.vocab = 100;
  write_tiny_bert(tmp.path() / "st", spec);
  const ModelDir model = read_model_dir(tmp.path() / "st");
  ASSERT_TRUE(model.sentence_transformer.has_value());
  EXPECT_EQ(model.sentence_transformer->pooling.mode, PoolingMode::Mean);
  EXPECT_TRUE(model.sentence_transformer->normalize);
  EXPECT_EQ(config_int(model, "vocab_size"), 100);
  const WeightStore store = WeightStore::open_dir(tmp.path() / "st");
  EXPECT_EQ(store.require("embeddings.word_embeddings.weight").shape, (Shape{100, 32}));
}

TEST(TinyBert, SameSeedSameBytesOtherSeedOtherWeights) {
  TempDir tmp;
  TinyBertSpec spec;
  write_tiny_bert(tmp.path() / "a", spec);
  write_tiny_bert(tmp.path() / "b", spec);
  spec.seed = 99;
  write_tiny_bert(tmp.path() / "c", spec);
  const std::string a = test::read_bytes(tmp.path() / "a/model.safetensors");
  EXPECT_EQ(a, test::read_bytes(tmp.path() / "b/model.safetensors"));
  EXPECT_NE(a, test::read_bytes(tmp.path() / "c/model.safetensors"));
  const WeightStore store = WeightStore::open_dir(tmp.path() / "a");
  EXPECT_NE(store.load_f32("encoder.layer.0.attention.self.query.weight", {32, 32}),
            store.load_f32("encoder.layer.0.attention.self.key.weight", {32, 32}));
}

TEST(TinyBert, RefusesNonEmptyDirectoryAndBadSpecs) {
  TempDir tmp;
  test::write_bytes(tmp.path() / "keep.txt", "mine");
  expect_error([&] { write_tiny_bert(tmp.path(), TinyBertSpec{}); }, {tmp.path().string(), "not empty"});
  EXPECT_EQ(test::read_bytes(tmp.path() / "keep.txt"), "mine");
  TinyBertSpec spec;
  spec.heads = 5;
  expect_error([&] { write_tiny_bert(tmp.path() / "x", spec); }, {"not a multiple of heads"});
  spec = TinyBertSpec{};
  spec.dtype = DType::BF16;
  expect_error([&] { write_tiny_bert(tmp.path() / "x", spec); }, {"dtype BF16 is not supported"});
  expect_error([&] { write_tiny_bert(tmp.path() / "no" / "parent", TinyBertSpec{}); },
               {(tmp.path() / "no" / "parent").string(), "cannot create temporary directory"});
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "x"));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

// The writer asks the tensor table for names through a store of names only:
// the table sees the layout, and nothing can read values that are not there.
TEST(TinyBert, StoreOfNamesOnlyHasNamesButNoValues) {
  const WeightStore store = WeightStore::names_only("/nowhere", {"bert.embeddings.word_embeddings.weight"});
  EXPECT_NE(store.find("bert.embeddings.word_embeddings.weight"), nullptr);
  EXPECT_EQ(store.find("embeddings.word_embeddings.weight"), nullptr);
  EXPECT_EQ(store.names(), std::vector<std::string>{"bert.embeddings.word_embeddings.weight"});
  expect_error([&] { store.load_f32("bert.embeddings.word_embeddings.weight", {}); },
               {"/nowhere", "bert.embeddings.word_embeddings.weight", "without values"});
}

}  // namespace
}  // namespace qp
