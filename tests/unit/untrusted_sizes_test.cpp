// Limits on sizes taken from untrusted input (issue 21, docs/HARDENING.md):
// each reader refuses, with one qp::Error naming the file, a size, count or
// id that would make it allocate or loop far beyond what the input holds, and
// does so before the allocation. One test per case the audit of the readers
// found; a test passing here means the reader answered quickly with an error
// instead of asking for gigabytes.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_export.h"
#include "gguf/gguf_import.h"
#include "io/gguf.h"
#include "io/pickle_reader.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "quantpipe/tokenizer.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The byte position just after the first occurrence of `text`.
size_t after(const std::string& bytes, const std::string& text) {
  const size_t at = bytes.find(text);
  EXPECT_NE(at, std::string::npos) << text;
  return at + text.size();
}

template <typename T>
void put(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// A small GGUF of a tiny BERT, as quantpipe exports it.
fs::path tiny_gguf(const test::TempDir& dir) {
  write_tiny_bert(dir.path() / "model", {.hidden = 32, .layers = 1, .heads = 2, .intermediate = 64});
  const fs::path gguf = dir.path() / "model.gguf";
  export_gguf(dir.path() / "model", gguf, {.type = quant::GgmlType::F32});
  return gguf;
}

// --- GGUF

// A tensor whose byte count wraps around 2^64: F32 × (2^62 + 1) values was
// 4 bytes after the wrap and passed the bounds check.
TEST(UntrustedSizes, GgufTensorByteCountMayNotOverflow) {
  test::TempDir dir;
  std::string bytes = test::read_bytes(tiny_gguf(dir));
  // Tensor info: name, n_dims (u32), dims (i64 each), type, offset.
  const size_t dims = after(bytes, "output_norm.weight");
  ASSERT_EQ(bytes[dims], 1);  // one dimension
  put<int64_t>(bytes, dims + 4, (int64_t{1} << 62) + 1);
  test::write_bytes(dir.path() / "bad.gguf", bytes);
  test::expect_error([&] { GgufFile file(dir.path() / "bad.gguf"); },
                     {"needs more bytes than the whole file has"});
}

// A zero dimension made the tensor empty and let the other be anything
// (2^40 rows), which readers then used as a count.
TEST(UntrustedSizes, GgufZeroDimensionDoesNotLetTheOthersBeAnything) {
  test::TempDir dir;
  std::string bytes = test::read_bytes(tiny_gguf(dir));
  const size_t dims = after(bytes, "token_embd.weight");
  ASSERT_EQ(bytes[dims], 2);
  put<int64_t>(bytes, dims + 4, int64_t{1} << 40);
  put<int64_t>(bytes, dims + 12, 0);
  test::write_bytes(dir.path() / "bad.gguf", bytes);
  test::expect_error([&] { GgufFile file(dir.path() / "bad.gguf"); },
                     {"token_embd.weight", "needs more bytes than the whole file has"});
}

// The import sliced feed_forward_length rows out of ffn_up without asking
// whether the tensor has them: a read past the tensor (and the mapping).
TEST(UntrustedSizes, GgufImportChecksTheRowsTheConfigAsksFor) {
  test::TempDir dir;
  std::string bytes = test::read_bytes(tiny_gguf(dir));
  const size_t value = after(bytes, "bert.feed_forward_length") + 4;  // past the u32 type
  put<uint32_t>(bytes, value, 64 * 8);
  test::write_bytes(dir.path() / "bad.gguf", bytes);
  test::expect_error([&] { import_gguf(dir.path() / "bad.gguf", dir.path() / "imported", false); },
                     {"are needed but the tensor has"});
  EXPECT_FALSE(fs::exists(dir.path() / "imported"));
}

// --- safetensors

TEST(UntrustedSizes, SafetensorsZeroDimensionDoesNotLetTheOthersBeAnything) {
  test::TempDir dir;
  const std::string header = R"({"w":{"dtype":"F32","shape":[1099511627776,0],"data_offsets":[0,0]}})";
  std::string bytes(8, '\0');
  put<uint64_t>(bytes, 0, header.size());
  test::write_bytes(dir.path() / "w.safetensors", bytes + header);
  test::expect_error([&] { SafetensorsFile file(dir.path() / "w.safetensors"); },
                     {"more than the 0-byte data section could hold"});
}

// --- pickle (pytorch_model.bin)

// A one-million-item tuple built once and memoised, then used again by
// REDUCE after REDUCE: each 5-byte repetition copied all of it.
TEST(UntrustedSizes, PickleMemoisedTupleUsedAgainIsLimited) {
  std::string p = "\x80\x02";                                   // PROTO 2
  p += "(";                                                     // MARK
  for (int i = 0; i < 4096; ++i) p += "K\x01";                  // BININT1 1 (4096 items: 2 bytes each)
  p += "t";                                                     // TUPLE
  p += "q\x01";                                                 // BINPUT 1
  p += "0";                                                     // POP
  p += "]";                                                     // EMPTY_LIST: the results go in it
  p += "(";                                                     // MARK
  for (int i = 0; i < 20000; ++i) p += "c__main__\nf\nh\x01R";  // GLOBAL, BINGET 1, REDUCE
  p += "e.";                                                    // APPENDS, STOP
  const PickleGlobals allowed = {{"__main__.f", GlobalUse::Call}};
  test::expect_error(
      [&] { read_pickle(std::as_bytes(std::span<const char>(p.data(), p.size())), allowed, "crafted.pkl"); },
      {"container items per byte"});
}

// --- tokenizers

// One entry with id 2^31 - 2 sized the reverse table at 16 GiB.
TEST(UntrustedSizes, VocabularyIdsMustBeNearlyDense) {
  test::TempDir dir;
  const fs::path path = dir.path() / "tokenizer.json";
  test::write_bytes(path,
                    R"({"model":{"type":"WordLevel","vocab":{"<unk>":2147483646},"unk_token":"<unk>"}})");
  test::expect_error([&] { Tokenizer::from_tokenizer_json(path); },
                     {path.string(), "largest id is 2147483646 but it has only 1 entries"});
}

// Every reference to a special token in a template copied its ids: a few
// references to a token with many ids multiply.
TEST(UntrustedSizes, TemplateSpecialIdsAreLimited) {
  test::TempDir dir;
  const fs::path path = dir.path() / "tokenizer.json";
  json ids = json::array();
  for (int i = 0; i < 600; ++i) ids.push_back(0);
  const json doc = {{"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}}}, {"unk_token", "<unk>"}}},
                    {"post_processor",
                     {{"type", "TemplateProcessing"},
                      {"single",
                       {{{"SpecialToken", {{"id", "X"}}}},
                        {{"SpecialToken", {{"id", "X"}}}},
                        {{"Sequence", {{"id", "A"}}}}}},
                      {"pair", {{{"Sequence", {{"id", "A"}}}}, {{"Sequence", {{"id", "B"}}}}}},
                      {"special_tokens", {{"X", {{"id", "X"}, {"ids", ids}, {"tokens", json::array()}}}}}}}};
  test::write_bytes(path, doc.dump());
  test::expect_error([&] { Tokenizer::from_tokenizer_json(path); },
                     {"post_processor.single", "more than 1024 special token ids"});
}

// Found by fuzz/spm_model_fuzz.cpp: see tokenizer_errors_test.cpp
// (TokenizerFileErrors.SpmModelWithAnEmptyPieceIsAnError).

// --- model configs

// num_hidden_layers = 2^30 declared a module table of 8 × 2^30 entries before
// any tensor was looked at.
TEST(UntrustedSizes, LayerCountIsBoundedBeforeTensorsAreDeclared) {
  test::TempDir dir;
  write_tiny_bert(dir.path() / "model", {.hidden = 32, .layers = 1, .heads = 2, .intermediate = 64});
  json config = json::parse(test::read_bytes(dir.path() / "model" / "config.json"));
  config["num_hidden_layers"] = 1 << 30;
  test::write_bytes(dir.path() / "model" / "config.json", config.dump());
  test::expect_error([&] { Model::load(dir.path() / "model", {1}); }, {"declares more than 65536 modules"});
}

}  // namespace
}  // namespace qp
