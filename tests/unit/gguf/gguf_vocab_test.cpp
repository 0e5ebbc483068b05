// Tokenizers as llama.cpp's GGUF keys, on the real tokenizer files of the seed
// models (../shared/tokenizers): WordPiece → "bert" with phantom spaces,
// byte-level BPE → "gpt2" with merges, and the special ids llama.cpp reads.
#include "gguf/gguf_vocab.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_paths.h"

namespace qp {
namespace {

TEST(GgufVocab, WordPieceOfMiniLm) {
  QP_REQUIRE_SHARED("tokenizers/all-MiniLM-L6-v2");
  const GgufVocab v = read_gguf_vocab(test::shared_dir() / "tokenizers/all-MiniLM-L6-v2", 30522);
  EXPECT_EQ(v.model, "bert");
  ASSERT_EQ(v.tokens.size(), 30522u);
  EXPECT_EQ(v.tokens[101], "[CLS]");
  EXPECT_EQ(v.types[101], 3);
  EXPECT_EQ(v.tokens[1996], "\xe2\x96\x81the");
  EXPECT_EQ(v.bos, 101);
  EXPECT_EQ(v.eos, 102);
  EXPECT_EQ(v.unk, 100);
  EXPECT_EQ(v.pad, 0);
  EXPECT_EQ(v.mask, 103);
  EXPECT_FALSE(v.huggingface_json.empty());
  for (const std::string& t : v.tokens) ASSERT_NE(t.rfind("##", 0), 0u) << t;  // continuations lose "##"
  EXPECT_THROW(read_gguf_vocab(test::shared_dir() / "tokenizers/all-MiniLM-L6-v2", 1000), Error);
}

TEST(GgufVocab, ByteLevelBpeOfRoberta) {
  QP_REQUIRE_SHARED("tokenizers/roberta-large-mnli");
  const GgufVocab v = read_gguf_vocab(test::shared_dir() / "tokenizers/roberta-large-mnli", 50265);
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "roberta-bpe");
  EXPECT_EQ(v.tokens[0], "<s>");
  EXPECT_EQ(v.bos, 0);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.pad, 1);
  EXPECT_EQ(v.unk, 3);
  EXPECT_EQ(v.mask, 50264);
  EXPECT_EQ(v.types[0], 3);
  EXPECT_EQ(v.merges.size(), 50000u);
  EXPECT_EQ(v.merges[0].find(' ') != std::string::npos, true);
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[1000].find("\xe2\x96\x81"), std::string::npos);  // no phantom spaces in BPE
}

}  // namespace
}  // namespace qp
