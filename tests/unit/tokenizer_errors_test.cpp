// Bad tokenizer files give one clear error line naming the file and the problem
// (issue 13, item 7), and each shared tokenizer's ids fit its model's embeddings.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quantpipe/tokenizer.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_error(const std::string& msg, const std::vector<std::string>& parts) {
  for (const std::string& part : parts)
    EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
}

class TokenizerFileErrors : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = tmp_.path() / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  fs::path write_json(const json& doc) { return write("tokenizer.json", doc.dump()); }
  std::string load_error(const fs::path& path) {
    return error_of([&] { Tokenizer::from_tokenizer_json(path); });
  }
  static json bpe(json merges) {
    return {
        {"model",
         {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"<unk>", 3}}}, {"merges", merges}}}};
  }
  test::TempDir tmp_;
};

TEST_F(TokenizerFileErrors, UnknownTypesAreNamedWithTheFile) {
  json doc = bpe(json::array({"a b"}));
  doc["model"]["type"] = "Byte";
  fs::path path = write_json(doc);
  expect_error(load_error(path), {path.string(), "model.type", "\"Byte\"", "unsupported model", "Unigram"});

  doc = bpe(json::array({"a b"}));
  doc["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Unidecode"}}}}};
  path = write_json(doc);
  expect_error(load_error(path),
               {path.string(), "normalizer.normalizers[1].type", "\"Unidecode\"", "unsupported normalizer"});

  doc = bpe(json::array({"a b"}));
  doc["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  path = write_json(doc);
  expect_error(load_error(path),
               {path.string(), "pre_tokenizer.type", "unsupported pre-tokenizer", "Metaspace"});

  doc = bpe(json::array({"a b"}));
  doc["post_processor"] = {{"type", "Magic"}};
  path = write_json(doc);
  expect_error(load_error(path), {path.string(), "post_processor.type", "unsupported post-processor"});
}

// The vocabulary is read straight into the tokenizer while the file is parsed;
// bad entries are still named by file and key path, and repeats refused.
TEST_F(TokenizerFileErrors, VocabularyEntriesAreCheckedAsTheyAreRead) {
  json doc = bpe(json::array({"a b"}));
  doc["model"]["vocab"]["b"] = "one";
  fs::path path = write_json(doc);
  expect_error(load_error(path), {path.string(), "model.vocab.b", "\"one\"", "an integer from 0 to"});
  doc = bpe(json::array({"a b"}));
  doc["model"]["vocab"]["ab"] = -4;
  path = write_json(doc);
  expect_error(load_error(path), {path.string(), "model.vocab.ab", "-4"});
  path = write("tokenizer.json",
               R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "a": 2}, "merges": []}})");
  expect_error(load_error(path), {path.string(), "key \"a\" appears twice"});
  // WordPiece and WordLevel take the same path; ids survive it.
  path = write_json(
      {{"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}, {"hi", 7}}}, {"unk_token", "<unk>"}}}});
  const Tokenizer word_level = Tokenizer::from_tokenizer_json(path);
  EXPECT_EQ(word_level.token_to_id("hi"), 7);
}

TEST_F(TokenizerFileErrors, MergesOutsideTheVocabulary) {
  fs::path path = write_json(bpe(json::array({"a b", "a c"})));
  expect_error(load_error(path), {path.string(), "merge 2", "'c'", "not in the vocabulary"});
  // Pair spelling, and a merge whose result is missing.
  path = write_json(bpe(json::array({json::array({"b", "a"})})));
  expect_error(load_error(path), {path.string(), "merge 1", "makes 'ba'", "not in the vocabulary"});
  path = write_json(bpe(json::array({"a b", 7})));
  expect_error(load_error(path), {path.string(), "model.merges[1]", "expected \"a b\""});
  path = write_json(bpe(json::array({"a  b"})));
  expect_error(load_error(path), {path.string(), "model.merges[0]"});
  // Both spellings give the same tokenizer.
  const Tokenizer strings = Tokenizer::from_tokenizer_json(write_json(bpe(json::array({"a b"}))));
  const Tokenizer pairs =
      Tokenizer::from_tokenizer_json(write_json(bpe(json::array({json::array({"a", "b"})}))));
  EXPECT_EQ(strings.encode("abba").input_ids, (std::vector<int32_t>{2, 1, 0}));
  EXPECT_EQ(pairs.encode("abba").input_ids, (std::vector<int32_t>{2, 1, 0}));
}

TEST_F(TokenizerFileErrors, MergesTxtFallback) {
  write("vocab.json", R"({"<s>": 0, "</s>": 1, "a": 2, "b": 3, "ab": 4})");
  const fs::path merges = write("merges.txt", "#version: 0.2\na b\nb z\n");
  expect_error(error_of([&] { Tokenizer::from_dir(tmp_.path()); }),
               {merges.string(), "merge 2", "'z'", "not in the vocabulary"});
  write("merges.txt", "#version: 0.2\na b\n");
  const Tokenizer t = Tokenizer::from_dir(tmp_.path());
  EXPECT_EQ(t.encode("ab").input_ids, (std::vector<int32_t>{0, 4, 1}));
}

TEST_F(TokenizerFileErrors, MissingUnknownToken) {
  json doc = bpe(json::array({"a b"}));
  doc["model"]["unk_token"] = "[UNK]";
  fs::path path = write_json(doc);
  expect_error(load_error(path), {path.string(), "unk_token '[UNK]' is not in the vocabulary"});

  const json unigram_vocab = json::array({json::array({"a", -1.0}), json::array({"b", -2.0})});
  path = write_json({{"model", {{"type", "Unigram"}, {"unk_id", 5}, {"vocab", unigram_vocab}}}});
  expect_error(load_error(path), {path.string(), "unk_id 5 is outside the vocabulary of 2 pieces"});

  // No unk_id: fine until a character no piece covers comes.
  path = write_json({{"model", {{"type", "Unigram"}, {"vocab", unigram_vocab}}}});
  const Tokenizer t = Tokenizer::from_tokenizer_json(path);
  EXPECT_EQ(t.encode("ab").input_ids, (std::vector<int32_t>{0, 1}));
  expect_error(error_of([&] { t.encode("abc"); }), {"no unk_id", "'c'"});

  path = write_json({{"model", {{"type", "WordLevel"}, {"vocab", {{"a", 0}}}, {"unk_token", "<unk>"}}}});
  expect_error(load_error(path), {path.string(), "WordLevel unk_token '<unk>' is not in the vocabulary"});
}

TEST_F(TokenizerFileErrors, BadRegexAndSpmModel) {
  json doc = bpe(json::array({"a b"}));
  doc["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  fs::path path = write_json(doc);
  expect_error(load_error(path), {path.string(), "pre_tokenizer.pattern", "does not compile"});
  doc["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  path = write_json(doc);
  expect_error(load_error(path), {path.string(), "pre_tokenizer.behavior", "\"Sideways\""});

  test::TempDir spm_dir;
  std::ofstream(spm_dir.path() / "spm.model") << "not a protobuf";
  expect_error(error_of([&] { Tokenizer::from_dir(spm_dir.path()); }),
               {(spm_dir.path() / "spm.model").string(), "not a SentencePiece model"});
}

// Found by fuzz/spm_model_fuzz.cpp: a model with an empty piece made
// libsentencepiece throw its own exception type from inside Load.
TEST_F(TokenizerFileErrors, SpmModelWithAnEmptyPieceIsAnError) {
  test::TempDir spm_dir;
  fs::copy_file(test::source_dir() / "fuzz/corpus/spm_model/empty_piece.model", spm_dir.path() / "spm.model");
  expect_error(error_of([&] { Tokenizer::from_dir(spm_dir.path()); }),
               {(spm_dir.path() / "spm.model").string(), "not a SentencePiece model"});
}

// Every id a shared tokenizer can give has a row in its model's embeddings.
TEST(SharedTokenizers, FitTheirModelsEmbeddings) {
  QP_REQUIRE_SHARED("tokenizers");
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(test::shared_dir() / "tokenizers")) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "config.json")) continue;
    std::ifstream in(entry.path() / "config.json");
    const json config = json::parse(in);
    if (!config.contains("vocab_size")) continue;
    const Tokenizer t = Tokenizer::from_dir(entry.path());
    EXPECT_LT(t.max_token_id(), config.at("vocab_size").get<int32_t>()) << entry.path();
    EXPECT_GE(t.pad_token_id(), 0);
    if (config.contains("pad_token_id") && config.at("pad_token_id").is_number()) {
      EXPECT_EQ(t.pad_token_id(), config.at("pad_token_id").get<int>()) << entry.path();
    }
    ++checked;
  }
  EXPECT_GE(checked, 8u);
}

}  // namespace
}  // namespace qp
