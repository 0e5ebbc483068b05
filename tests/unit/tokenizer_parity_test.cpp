// Parity of every tokenizer in ../shared/tokenizers with Hugging Face:
// tests/golden/tokenizers/<name>.jsonl holds the ids and type ids the tokenizers
// library (tokenizer.json) or transformers (spm.model, vocab.json + merges.txt,
// vocab.txt) gives for sampled ../shared/data texts and tricky strings
// (make_goldens.py regenerates them); ../shared/oracle/tokenizers/<name>.jsonl
// holds what the slow (pure-Python) transformers tokenizers give.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "quantpipe/tokenizer.h"
#include "test_paths.h"
#include "tokenizer_golden_texts.h"

namespace qp {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using test::golden_tokenizers_dir;
using test::read_lines;
using test::SourceTexts;

class TokenizerParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = test::shared_dir() / "tokenizers" / GetParam();
    if (!fs::exists(dir_)) GTEST_SKIP() << dir_ << " is absent: skipping (tests use it when present)";
    if (!fs::exists(test::shared_dir() / "data")) GTEST_SKIP() << "../shared/data is absent: skipping";
    tokenizer_.emplace(Tokenizer::from_dir(dir_));
  }
  fs::path dir_;
  std::optional<Tokenizer> tokenizer_;
};

TEST_P(TokenizerParity, IdenticalToHuggingFaceOnGoldens) {
  EXPECT_GT(test::compare_with_golden(GetParam(), *tokenizer_), 1000u);
}

TEST_P(TokenizerParity, IdenticalToSlowTransformersOracle) {
  const fs::path oracle = test::shared_dir() / "oracle" / "tokenizers" / (GetParam() + ".jsonl");
  if (!fs::exists(oracle)) GTEST_SKIP() << oracle << " is absent: skipping";
  size_t compared = 0;
  for (const std::string& line : read_lines(oracle)) {
    const json o = json::parse(line);
    const std::string text = o.at("text");
    const Encoding e =
        o.contains("text_pair")
            ? tokenizer_->encode(text, std::string_view(o.at("text_pair").get_ref<const std::string&>()))
            : tokenizer_->encode(text);
    if (test::transformers5_differs_from_slow(GetParam(), text)) {
      EXPECT_NE(e.input_ids, o.at("input_ids").get<std::vector<int32_t>>()) << GetParam() << ": " << text;
      continue;
    }
    EXPECT_EQ(e.input_ids, o.at("input_ids").get<std::vector<int32_t>>()) << GetParam() << ": " << text;
    if (o.contains("token_type_ids")) {
      EXPECT_EQ(e.token_type_ids, o.at("token_type_ids").get<std::vector<int32_t>>())
          << GetParam() << ": " << text;
    }
    if (o.contains("tokens")) {
      // The token strings (what `quantpipe tokenize --tokens` prints) for the same ids.
      const auto want = o.at("tokens").get<std::vector<std::string>>();
      std::vector<std::string> got;
      for (int32_t id : e.input_ids) got.push_back(tokenizer_->id_to_token(id).value_or("<none>"));
      EXPECT_EQ(got, want) << GetParam() << ": " << text;
    }
    ++compared;
  }
  EXPECT_GT(compared, 10u);
}

INSTANTIATE_TEST_SUITE_P(SharedTokenizers, TokenizerParity,
                         ::testing::Values("ModernBERT-large", "all-MiniLM-L12-v2", "all-MiniLM-L6-v2",
                                           "all-mpnet-base-v2", "bart-large-mnli", "deberta-v3-base",
                                           "mobilebert-uncased", "roberta-large-mnli",
                                           "xtremedistil-l6-h256-uncased"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// One Tokenizer serves several threads: BPE's shared word cache fills from all of them
// and every thread still gets the single-threaded ids.
TEST(TokenizerThreads, SharedBpeCacheGivesTheSameIds) {
  const fs::path dir = test::shared_dir() / "tokenizers/roberta-large-mnli";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " is absent: skipping (tests use it when present)";
  QP_REQUIRE_SHARED("data/genre/dev_a.jsonl");
  std::vector<std::string> texts;
  for (const std::string& line : read_lines(test::shared_dir() / "data/genre/dev_a.jsonl"))
    texts.push_back(json::parse(line).at("text"));
  std::vector<std::vector<int32_t>> want;
  const Tokenizer alone = Tokenizer::from_dir(dir);  // its own cache, used by this thread only
  for (const std::string& text : texts) want.push_back(alone.encode(text).input_ids);
  const Tokenizer shared = Tokenizer::from_dir(dir);
  std::vector<size_t> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t)
    threads.emplace_back([&, t] {
      for (size_t i = t; i < texts.size() + t; ++i) {  // each thread starts elsewhere
        const size_t k = i % texts.size();
        if (shared.encode(texts[k]).input_ids != want[k]) ++mismatches[t];
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<size_t>(4, 0));
}

// The sentencepiece.bpe.model fallback (XLM-R's layout: fairseq ids, Precompiled
// charsmap, <s> A </s></s> B </s>) against transformers' XLMRobertaTokenizer, made from
// deberta-v3-base's spm.model as make_goldens.py makes it (no XLM-R is in ../shared).
TEST(TokenizerXlmrLayout, IdenticalToTransformers) {
  const fs::path spm = test::shared_dir() / "tokenizers/deberta-v3-base/spm.model";
  if (!fs::exists(spm)) GTEST_SKIP() << spm << " is absent: skipping (tests use it when present)";
  QP_REQUIRE_SHARED("data");
  test::TempDir dir;
  fs::copy_file(spm, dir.path() / "sentencepiece.bpe.model");
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({"tokenizer_class": "XLMRobertaTokenizer"})";
  const Tokenizer tokenizer = Tokenizer::from_dir(dir.path());
  EXPECT_EQ(tokenizer.token_to_id("<mask>"), 128001);
  EXPECT_EQ(tokenizer.pad_token_id(), 1);
  EXPECT_GT(test::compare_with_golden("xlmr-layout.deberta-spm", tokenizer), 1000u);
}

// tests/golden/tokenizers/variants.json: shared or synthetic tokenizer.json files with
// pipeline steps replaced (make_goldens.py applies the same edits for the reference).
json load_variant(const json& v) {
  const std::string base = v.at("base");
  const std::string kind = base.substr(0, base.find(':'));
  const std::string rel = base.substr(base.find(':') + 1);
  const fs::path path = kind == "shared" ? test::shared_dir() / rel : golden_tokenizers_dir() / rel;
  std::ifstream in(path);
  json doc = json::parse(in);
  // Copies: iterating items() of a temporary would dangle.
  const json set = v.value("set", json::object());
  const json model = v.value("model", json::object());
  const json added = v.value("append_added_tokens", json::array());
  for (const auto& [key, value] : set.items()) doc[key] = value;
  for (const auto& [key, value] : model.items()) doc["model"][key] = value;
  for (const json& token : added) doc["added_tokens"].push_back(token);
  return doc;
}

TEST(TokenizerVariants, IdenticalToHuggingFace) {
  QP_REQUIRE_SHARED("tokenizers");
  QP_REQUIRE_SHARED("data");
  std::ifstream in(golden_tokenizers_dir() / "variants.json");
  const json variants = json::parse(in);
  size_t checked = 0;
  for (const json& v : variants) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    test::TempDir tmp;
    std::ofstream(tmp.path() / "tokenizer.json") << load_variant(v).dump();
    const Tokenizer tokenizer = Tokenizer::from_tokenizer_json(tmp.path() / "tokenizer.json");
    EXPECT_GT(test::compare_with_golden(v.at("name"), tokenizer), 250u);
    ++checked;
  }
  EXPECT_GE(checked, 10u);
}

}  // namespace
}  // namespace qp
