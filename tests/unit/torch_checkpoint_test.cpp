// pytorch_model.bin: golden files written by Debian's PyTorch must load to the
// same tensors as their safetensors twins; malicious pickles must be refused
// naming the global without running anything; damaged archives must fail clearly.
#include "io/torch_checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io/pickle_reader.h"
#include "io/safetensors.h"
#include "io/zip_archive.h"
#include "io_test_util.h"
#include "quant/convert.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using test::expect_error;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;

fs::path golden_models() { return test::source_dir() / "tests/golden/models"; }
fs::path torch_bin() { return test::source_dir() / "tests/golden/torch_bin"; }

void expect_same_tensor(const TensorView& a, const TensorView& b) {
  EXPECT_EQ(a.dtype, b.dtype) << a.name;
  EXPECT_EQ(a.shape, b.shape) << a.name;
  ASSERT_EQ(a.nbytes, b.nbytes) << a.name;
  EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name << ": bytes differ";
}

// Every tensor of the safetensors twin, bit for bit; returns the extra names of the .bin.
std::vector<std::string> expect_matches_twin(const WeightStore& bin, const WeightStore& twin) {
  for (const std::string& name : twin.names()) {
    const TensorView* view = bin.find(name);
    EXPECT_NE(view, nullptr) << name << " missing from " << bin.dir();
    if (view) expect_same_tensor(*view, twin.require(name));
  }
  std::vector<std::string> extra;
  for (const std::string& name : bin.names())
    if (!twin.find(name)) extra.push_back(name);
  return extra;
}

class TorchBinGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchBinGolden, LoadsTheSameTensorsAsTheSafetensorsTwin) {
  const WeightStore bin = WeightStore::open_dir(torch_bin() / GetParam());
  const WeightStore twin = WeightStore::open_dir(golden_models() / GetParam());
  EXPECT_EQ(bin.names().size(), 41u);
  EXPECT_EQ(expect_matches_twin(bin, twin), std::vector<std::string>{});
  EXPECT_EQ(bin.load_f32("classifier.bias", {3}), twin.load_f32("classifier.bias", {3}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, TorchBinGolden,
                         ::testing::Values("bert-tiny-cls", "bert-tiny-cls-f16", "bert-tiny-cls-bf16"));

TEST(TorchBinGolden, ShardedIndexWithSharedStorageAndAnInt64Buffer) {
  const WeightStore bin = WeightStore::open_dir(torch_bin() / "bert-tiny-cls-sharded");
  const WeightStore twin = WeightStore::open_dir(golden_models() / "bert-tiny-cls");
  EXPECT_EQ(expect_matches_twin(bin, twin), std::vector<std::string>{"bert.embeddings.position_ids"});
  const TensorView& ids = bin.require("bert.embeddings.position_ids");
  EXPECT_EQ(ids.dtype, DType::I64);
  EXPECT_EQ(ids.shape, (Shape{1, 64}));
  std::vector<int64_t> values(64);
  std::memcpy(values.data(), ids.data, 64 * sizeof(int64_t));
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(values[i], i);
  // classifier.weight [3, 32] and .bias [3] share one storage, the bias at offset 96.
  const TensorView& w = bin.require("classifier.weight");
  const TensorView& b = bin.require("classifier.bias");
  EXPECT_EQ(b.data, w.data + 96 * sizeof(float));
}

TEST(TorchBinGolden, ShardedIndexNamesAMissingShard) {
  TempDir tmp;
  fs::copy(torch_bin() / "bert-tiny-cls-sharded", tmp.path());
  fs::remove(tmp.path() / "pytorch_model-00002-of-00002.bin");
  expect_error([&] { WeightStore::open_dir(tmp.path()); },
               {(tmp.path() / "pytorch_model.bin.index.json").string(),
                R"(shard "pytorch_model-00002-of-00002.bin" does not exist)"});
}

TEST(TorchBinGolden, PickleProtocol4) {
  const TorchCheckpoint ckpt(torch_bin() / "protocol4.bin");
  ASSERT_EQ(ckpt.tensors().size(), 2u);
  const TensorView& w = *ckpt.find("w");
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(to_f32(w), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt.find("b")->dtype, DType::BF16);
  EXPECT_EQ(to_f32(*ckpt.find("b")), (std::vector<float>{1.5f, -2.5f}));
}

TEST(TorchBinGolden, SavedParameter) {
  const TorchCheckpoint ckpt(torch_bin() / "parameter.bin");
  ASSERT_NE(ckpt.find("p"), nullptr);
  EXPECT_EQ(ckpt.find("p")->dtype, DType::F16);
  EXPECT_EQ(to_f32(*ckpt.find("p")), (std::vector<float>{0.25f, -4.0f}));
}

TEST(TorchBinGolden, SafetensorsWinWhenBothArePresent) {
  TempDir tmp;
  fs::copy(golden_models() / "bert-tiny-cls", tmp.path());
  write_bytes(tmp.path() / "pytorch_model.bin", "not even a zip");
  EXPECT_EQ(WeightStore::open_dir(tmp.path()).names().size(), 41u);
}

TEST(TorchBinGolden, FingerprintHashesBinFiles) {
  TempDir tmp;
  fs::copy(torch_bin() / "bert-tiny-cls", tmp.path());
  const std::string before = quant::model_fingerprint(tmp.path());
  std::string bytes = read_bytes(tmp.path() / "pytorch_model.bin");
  bytes[bytes.size() / 2] ^= 1;
  write_bytes(tmp.path() / "pytorch_model.bin", bytes);
  EXPECT_NE(quant::model_fingerprint(tmp.path()), before);
}

// ---------------------------------------------------------------------------
// Malicious pickles (tests/golden/make_malicious_pickles.py): each payload
// creates this marker when Python's pickle runs it.

const fs::path kMarker = "/tmp/quantpipe-pickle-payload-ran";

struct MaliciousCase {
  const char* file;
  const char* refusal;
  const char* reader = "[pickle] ";  // which reader refuses it
};

class TorchBinMalicious : public ::testing::TestWithParam<MaliciousCase> {};

TEST_P(TorchBinMalicious, IsRefusedNamingWhatItCallsAndRunsNothing) {
  fs::remove(kMarker);
  TempDir tmp;
  fs::copy_file(torch_bin() / "malicious" / GetParam().file, tmp.path() / "pytorch_model.bin");
  expect_error([&] { WeightStore::open_dir(tmp.path()); },
               {GetParam().reader, (tmp.path() / "pytorch_model.bin").string(), GetParam().refusal});
  EXPECT_FALSE(fs::exists(kMarker)) << "the payload ran";
}

INSTANTIATE_TEST_SUITE_P(
    Payloads, TorchBinMalicious,
    ::testing::Values(MaliciousCase{"os_system.bin", "refusing global 'posix.system'"},
                      MaliciousCase{"builtins_eval.bin", "refusing global 'builtins.eval'"},
                      MaliciousCase{"subprocess_popen.bin", "refusing global 'subprocess.Popen'"},
                      MaliciousCase{"nested_reduce.bin", "refusing global 'builtins.exec'"},
                      MaliciousCase{"os_system_v0.bin", "refusing global 'os.system'"},
                      MaliciousCase{"inst_opcode.bin", "opcode INST is not allowed"},
                      MaliciousCase{"call_storage.bin", "global 'torch.FloatStorage' may not be called"},
                      MaliciousCase{
                          "nested_parameter.bin",
                          "entry 'p' is a call of torch._utils._rebuild_parameter, expected a tensor",
                          "[torch] "}),
    [](const auto& info) {
      std::string name = info.param.file;
      return name.substr(0, name.find('.'));
    });

// ---------------------------------------------------------------------------
// Formats quantpipe does not read, and damaged files

TEST(TorchBinErrors, LegacyFormatSaysHowToConvert) {
  const fs::path path = torch_bin() / "bad/legacy.bin";
  expect_error([&] { TorchCheckpoint{path}; }, {path.string(), "legacy (pre-PyTorch-1.6, non-zip) checkpoint",
                                                "_use_new_zipfile_serialization=True", "model.safetensors"});
}

TEST(TorchBinErrors, NonContiguousTensorIsRefused) {
  const fs::path path = torch_bin() / "bad/transposed.bin";
  expect_error([&] { TorchCheckpoint{path}; },
               {path.string(), "tensor 'w' is not contiguous (size [3, 2], stride [1, 3])"});
}

TEST(TorchBinErrors, CompressedEntryIsRefused) {
  const fs::path path = torch_bin() / "bad/compressed.bin";
  expect_error([&] { TorchCheckpoint{path}; }, {"[zip] ", path.string(), "is compressed (method 8)"});
}

class TorchBinDamaged : public ::testing::Test {
 protected:
  // The F32 golden .bin with `edit` applied, as tmp/pytorch_model.bin.
  fs::path damaged(const std::function<void(std::string&)>& edit) {
    std::string bytes = read_bytes(torch_bin() / "bert-tiny-cls/pytorch_model.bin");
    edit(bytes);
    const fs::path path = tmp_.path() / "pytorch_model.bin";
    write_bytes(path, bytes);
    return path;
  }
  TempDir tmp_;
};

TEST_F(TorchBinDamaged, TruncatedFile) {
  // Cut inside the tensors, and inside the central directory at the end.
  for (const size_t keep : {size_t{60000}, size_t{107372 - 200}}) {
    const fs::path path = damaged([&](std::string& b) { b.resize(keep); });
    expect_error([&] { TorchCheckpoint{path}; },
                 {"[zip] ", path.string(), "end-of-central-directory record"});
  }
}

TEST_F(TorchBinDamaged, FlippedTensorByteFailsTheCrc) {
  const fs::path path = damaged([](std::string& b) { b[b.size() / 2] ^= 0x40; });
  expect_error([&] { TorchCheckpoint{path}; }, {"[zip] ", path.string(), "fails its CRC-32 check"});
}

TEST_F(TorchBinDamaged, BrokenLocalHeader) {
  // The second local header ("PK\3\4" after the first) loses its signature.
  const fs::path path = damaged([](std::string& b) { b[b.find("PK\x03\x04", 4)] = 'X'; });
  expect_error([&] { TorchCheckpoint{path}; }, {"[zip] ", path.string(), "local header"});
}

// An entry whose recorded size (in both headers, so minizip accepts it) runs past the end.
TEST_F(TorchBinDamaged, EntryPastTheEndOfTheFile) {
  const fs::path path = damaged([](std::string& b) {
    const std::string name = "pytorch_model/data/9";
    const size_t local = b.find(name), central = b.find(name, local + 1);
    ASSERT_NE(central, std::string::npos);
    const uint32_t huge = 0x10000000;
    for (const size_t at : {local - 30 + 18, local - 30 + 22, central - 46 + 20, central - 46 + 24})
      std::memcpy(&b[at], &huge, 4);
  });
  expect_error([&] { TorchCheckpoint{path}; },
               {"[zip] ", path.string(), "entry 'pytorch_model/data/9' spans bytes [", ", 268",
                "but the file has 107372"});
}

TEST_F(TorchBinDamaged, EmptyAndNonZipFiles) {
  const fs::path empty = damaged([](std::string& b) { b.clear(); });
  expect_error([&] { TorchCheckpoint{empty}; },
               {empty.string(), "is not a zip archive", "the file is empty"});
  const fs::path text = damaged([](std::string& b) { b = "version https://git-lfs.github.com/spec/v1\n"; });
  expect_error([&] { TorchCheckpoint{text}; }, {text.string(), "is not a zip archive"});
}

TEST_F(TorchBinDamaged, ZipWithoutAPickle) {
  const fs::path path = tmp_.path() / "x.bin";
  fs::copy_file(torch_bin() / "bad/compressed.bin", path);
  // A stored zip without data.pkl: rename the entry in both headers.
  std::string bytes = read_bytes(torch_bin() / "bert-tiny-cls/pytorch_model.bin");
  for (size_t at = bytes.find("data.pkl"); at != std::string::npos; at = bytes.find("data.pkl", at + 1))
    bytes.replace(at, 8, "data.pkx");
  write_bytes(path, bytes);
  expect_error([&] { TorchCheckpoint{path}; }, {path.string(), "has no <archive>/data.pkl entry"});
}

// ---------------------------------------------------------------------------
// The pickle reader on hand-written opcodes

const PickleGlobals kNoGlobals;

PickleDocument read(const std::string& bytes, const PickleGlobals& globals = kNoGlobals) {
  return read_pickle(std::as_bytes(std::span(bytes.data(), bytes.size())), globals, "t.pkl");
}

TEST(PickleReader, ReadsTheValuesTorchWrites) {
  // pickle.dumps({'a': (1, -2, 300, 70000, -1, True, None, 'a', [])}, protocol=2), with -1 as LONG1.
  const std::string pkl = "\x80\x02}q\x00X\x01\x00\x00\x00"s + "aq\x01(K\x01J\xfe\xff\xff\xffM,\x01"s +
                          "Jp\x11\x01\x00\x8a\x01\xff\x88Nh\x01]q\x02tq\x03s."s;
  const PickleDocument doc = read(pkl);
  const PickleValue& root = doc.root();
  ASSERT_EQ(root.kind, PickleKind::Dict);
  ASSERT_EQ(root.items.size(), 2u);
  EXPECT_EQ(root.items[0]->text, "a");
  const PickleValue& t = *root.items[1];
  ASSERT_EQ(t.kind, PickleKind::Tuple);
  ASSERT_EQ(t.items.size(), 9u);
  EXPECT_EQ(t.items[0]->integer, 1);
  EXPECT_EQ(t.items[1]->integer, -2);
  EXPECT_EQ(t.items[2]->integer, 300);
  EXPECT_EQ(t.items[3]->integer, 70000);
  EXPECT_EQ(t.items[4]->integer, -1);
  EXPECT_EQ(t.items[5]->kind, PickleKind::Bool);
  EXPECT_EQ(t.items[6]->kind, PickleKind::None);
  EXPECT_EQ(t.items[7]->text, "a");  // BINGET 1 is the memoized key
  EXPECT_EQ(t.items[8]->kind, PickleKind::List);
}

TEST(PickleReader, RefusesMalformedInput) {
  expect_error([] { read(std::string("\x80\x02K\x01", 4)); }, {"[pickle] t.pkl", "ends without STOP"});
  expect_error(
      [] {
        read(
            std::string("\x80\x02X\x10\x00\x00\x00"
                        "ab",
                        9));
      },
      {"ends inside an argument"});
  expect_error([] { read(std::string("\x80\x02h\x07.", 5)); }, {"memo slot 7 was never stored", "byte 2"});
  expect_error([] { read(std::string("\x80\x02.", 3)); }, {"the stack is empty"});
  expect_error([] { read(std::string("\x80\x02K\x01K\x02s.", 8)); }, {"the stack is empty"});
  expect_error([] { read(std::string("\x80\x02]K\x01K\x02s.", 9)); },
               {"SETITEM target is a list, expected a dict"});
  expect_error([] { read(std::string("\x80\x02\x81.", 4)); }, {"opcode NEWOBJ is not allowed"});
  expect_error([] { read(std::string("\x80\x02\xff.", 4)); }, {"byte 0xff is not a pickle opcode"});
  expect_error([] { read(std::string("\x80\x02t.", 4)); }, {"no MARK on the stack"});
  expect_error([] { read(std::string("\x80\x02\x8a\x09", 4)); }, {"LONG1 integer of 9 bytes"});
  expect_error([] { read("cposix\nsys"); }, {"ends inside a text line"});
}

TEST(PickleReader, CallsAreRecordedNotRun) {
  const PickleGlobals globals = {{"m.f", GlobalUse::Call}, {"m.T", GlobalUse::Reference}};
  const PickleDocument doc = read(std::string("\x80\x02"
                                              "cm\nf\nK\x05\x85R.",
                                              12),
                                  globals);
  EXPECT_EQ(doc.root().kind, PickleKind::Call);
  EXPECT_EQ(doc.root().text, "m.f");
  ASSERT_EQ(doc.root().items.size(), 1u);
  EXPECT_EQ(doc.root().items[0]->integer, 5);
  expect_error(
      [&] {
        read(std::string("\x80\x02"
                         "cm\nT\n)R.",
                         10),
             globals);
      },
      {"global 'm.T' may not be called"});
  expect_error([&] { read(std::string("\x80\x02K\x01)R.", 7), globals); },
               {"REDUCE callee is a int, expected a global"});
}

// Every prefix and many one-byte edits of a real data.pkl: the reader either
// reads it or throws qp::Error, never crashes or loops.
TEST(PickleReader, DamagedRealPicklesFailCleanly) {
  const ZipArchive zip(torch_bin() / "bert-tiny-cls/pytorch_model.bin");
  const std::span<const std::byte> pkl = *zip.find("pytorch_model/data.pkl");
  const PickleGlobals globals = {{"collections.OrderedDict", GlobalUse::EmptyDict},
                                 {"torch._utils._rebuild_tensor_v2", GlobalUse::Call},
                                 {"torch.FloatStorage", GlobalUse::Reference}};
  EXPECT_EQ(read_pickle(pkl, globals, "t").root().items.size(), 82u);
  for (size_t n = 0; n < pkl.size(); ++n)
    EXPECT_THROW(read_pickle(pkl.first(n), globals, "t"), Error) << "prefix of " << n << " bytes";
  std::vector<std::byte> edited(pkl.begin(), pkl.end());
  int errors = 0;
  for (size_t i = 0; i < edited.size(); ++i)
    for (const uint8_t value : {0x00, 0x28, 0x2e, 0x71, 0x80, 0xff}) {
      const std::byte old = edited[i];
      edited[i] = std::byte{value};
      try {
        read_pickle(edited, globals, "t");
      } catch (const Error&) {
        ++errors;
      }
      edited[i] = old;
    }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace qp
