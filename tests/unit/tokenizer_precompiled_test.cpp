// The Precompiled normalizer and Unigram's byte fallback against the Hugging
// Face tokenizers library: deberta-v3-base's spm.model rebuilt as a tokenizer.json
// with XLM-R's normalizer (Precompiled charsmap from spm.model, then
// Replace " {2,}" → " ") and byte_fallback on, exactly as make_goldens.py builds
// it for tests/golden/tokenizers/deberta-v3-base.precompiled.jsonl.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "quantpipe/tokenizer.h"
#include "test_paths.h"
#include "tokenize/spm_proto.h"
#include "tokenizer_golden_texts.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base64(std::string_view bytes) {
  static const char* const kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(kDigits[(v >> s) & 63]);
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {kDigits[(v >> 18) & 63], kDigits[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kDigits[(v >> 18) & 63], kDigits[(v >> 12) & 63], kDigits[(v >> 6) & 63], '='};
  }
  return out;
}

json special(int id, const char* content, bool normalized) {
  return {{"id", id},        {"content", content},       {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", normalized}, {"special", true}};
}

json template_step(const char* kind, const char* id, int type) {
  return {{kind, {{"id", id}, {"type_id", type}}}};
}

TEST(TokenizerPrecompiled, DebertaSpmWithCharsmapMatchesHuggingFace) {
  const fs::path spm = test::shared_dir() / "tokenizers/deberta-v3-base/spm.model";
  if (!fs::exists(spm)) GTEST_SKIP() << spm << " is absent: skipping (tests use it when present)";
  QP_REQUIRE_SHARED("data");
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(spm.string()).ok());
  const std::string charsmap = tok::spm_precompiled_charsmap(sp.serialized_model_proto(), spm.string());
  ASSERT_GT(charsmap.size(), 1000u);

  json vocab = json::array();
  for (int i = 0; i < sp.GetPieceSize(); ++i) vocab.push_back({sp.IdToPiece(i), double(sp.GetScore(i))});
  const json doc = {
      {"added_tokens",
       {special(0, "[PAD]", false), special(1, "[CLS]", false), special(2, "[SEP]", false),
        special(3, "[UNK]", true), special(128000, "[MASK]", false)}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Precompiled"}, {"precompiled_charsmap", base64(charsmap)}},
          {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}}}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Metaspace"},
           {"replacement", "\u2581"},
           {"prepend_scheme", "always"},
           {"split", true}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {template_step("SpecialToken", "[CLS]", 0), template_step("Sequence", "A", 0),
          template_step("SpecialToken", "[SEP]", 0)}},
        {"pair",
         {template_step("SpecialToken", "[CLS]", 0), template_step("Sequence", "A", 0),
          template_step("SpecialToken", "[SEP]", 0), template_step("Sequence", "B", 1),
          template_step("SpecialToken", "[SEP]", 1)}},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {1}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {2}}, {"tokens", {"[SEP]"}}}}}}}},
      {"model", {{"type", "Unigram"}, {"unk_id", 3}, {"vocab", vocab}, {"byte_fallback", true}}}};
  test::TempDir tmp;
  std::ofstream(tmp.path() / "tokenizer.json") << doc.dump();
  const Tokenizer tokenizer = Tokenizer::from_tokenizer_json(tmp.path() / "tokenizer.json");

  EXPECT_GT(test::compare_with_golden("deberta-v3-base.precompiled", tokenizer), 1000u);
}

}  // namespace
}  // namespace qp
