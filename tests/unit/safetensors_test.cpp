#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/half.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace qp {
namespace {

using test::expect_error;
using test::TempDir;

template <typename T>
std::span<const std::byte> as_bytes(const std::vector<T>& values) {
  return std::as_bytes(std::span<const T>(values));
}

std::string header_of(const std::filesystem::path& path) {
  const std::string bytes = test::read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return bytes.substr(8, n);
}

// A valid two-tensor file to cut and corrupt.
std::filesystem::path write_small(const std::filesystem::path& dir) {
  static const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  static const std::vector<float> b = {7, 8};
  const std::filesystem::path path = dir / "small.safetensors";
  write_safetensors(path, {{"a", DType::F32, {2, 3}, as_bytes(a)}, {"b", DType::F32, {2}, as_bytes(b)}});
  return path;
}

TEST(SafetensorsWriter, RoundTripsEveryDtype) {
  TempDir tmp;
  const std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 0.0f, 0.125f, -7.0f};
  std::vector<uint16_t> f16, bf16;
  for (float v : f32) {
    f16.push_back(f32_to_f16(v));
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bf16.push_back(static_cast<uint16_t>(bits >> 16));
  }
  const std::vector<int8_t> i8 = {-128, -1, 0, 1, 127};
  const std::vector<uint8_t> u8 = {0, 1, 200, 255};
  const std::vector<uint32_t> u32 = {0, 1, 0xDEADBEEF, 0xFFFFFFFF};
  const std::vector<TensorToWrite> tensors = {
      {"w.f32", DType::F32, {2, 3}, as_bytes(f32)},
      {"w.f16", DType::F16, {3, 2}, as_bytes(f16)},
      {"w.bf16", DType::BF16, {6}, as_bytes(bf16)},
      {"w.i8", DType::I8, {5}, as_bytes(i8)},
      {"w.u8", DType::U8, {2, 2}, as_bytes(u8)},
      {"w.u32", DType::U32, {1, 4}, as_bytes(u32)},
      {"empty", DType::F32, {0, 3}, {}},
  };
  const std::filesystem::path path = tmp.path() / "all.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"quantpipe.bits", "4"}});

  EXPECT_EQ(header_of(path).size() % 8, 0u);
  const SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const TensorToWrite& t : tensors) {
    const TensorView* view = file.find(t.name);
    ASSERT_NE(view, nullptr) << t.name;
    EXPECT_EQ(view->dtype, t.dtype) << t.name;
    EXPECT_EQ(view->shape, t.shape) << t.name;
    ASSERT_EQ(view->nbytes, t.bytes.size()) << t.name;
    if (view->nbytes) {
      EXPECT_EQ(std::memcmp(view->data, t.bytes.data(), view->nbytes), 0) << t.name;
    }
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view->data) % dtype_size(t.dtype), 0u) << t.name << " misaligned";
  }
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("quantpipe.bits"), "4");
  EXPECT_EQ(file.find("nope"), nullptr);
  EXPECT_EQ(to_f32(*file.find("w.f16")), f32);
  EXPECT_EQ(to_f32(*file.find("w.bf16"))[1], -2.25f);
}

TEST(SafetensorsWriter, HeaderKeepsGivenOrderAndDataIsContiguous) {
  TempDir tmp;
  const std::vector<uint8_t> odd = {1, 2, 3};
  const std::vector<float> f = {1, 2};
  const std::filesystem::path path = tmp.path() / "order.safetensors";
  write_safetensors(path,
                    {{"z.bytes", DType::U8, {3}, as_bytes(odd)}, {"a.floats", DType::F32, {2}, as_bytes(f)}});
  const std::string header = header_of(path);
  EXPECT_LT(header.find("z.bytes"), header.find("a.floats"));
  const auto json = nlohmann::json::parse(header);
  // Floats first (alignment), then the bytes right after: no gaps.
  EXPECT_EQ(json["a.floats"]["data_offsets"], nlohmann::json({0, 8}));
  EXPECT_EQ(json["z.bytes"]["data_offsets"], nlohmann::json({8, 11}));
  EXPECT_EQ(std::filesystem::file_size(path), 8 + header.size() + 11);
}

TEST(SafetensorsWriter, RejectsBadInputBeforeWriting) {
  TempDir tmp;
  const std::vector<float> f = {1, 2, 3};
  const std::filesystem::path path = tmp.path() / "bad.safetensors";
  expect_error(
      [&] {
        write_safetensors(path, {{"x", DType::F32, {2, 2}, as_bytes(f)}});
      },
      {path.string(), "tensor 'x' has 12 bytes", "[2, 2]", "needs 16"});
  expect_error(
      [&] {
        write_safetensors(path, {{"x", DType::F32, {3}, as_bytes(f)}, {"x", DType::F32, {3}, as_bytes(f)}});
      },
      {path.string(), "'x' is given twice"});
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(SafetensorsWriter, MissingDirectoryThrowsAndLeavesNothing) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "no" / "such" / "dir" / "m.safetensors";
  const std::vector<float> f = {1};
  expect_error(
      [&] {
        write_safetensors(path, {{"x", DType::F32, {1}, as_bytes(f)}});
      },
      {path.string(), "No such file or directory"});
  expect_error([&] { write_file_atomic(path, "text"); }, {path.string(), "No such file or directory"});
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "no"));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(SafetensorsWriter, FailedWriteLeavesExistingFileUntouched) {
  TempDir tmp;
  const std::filesystem::path path = write_small(tmp.path());
  const std::string before = test::read_bytes(path);

  // A file-size limit makes write() fail with EFBIG half way, like a full disk.
  const std::vector<float> big(1 << 16, 0.5f);
  struct rlimit old_limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    write_safetensors(path, {{"big", DType::F32, {1 << 16}, as_bytes(big)}});
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);

  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(test::read_bytes(path), before);
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(SafetensorsWriter, FailedRenameRemovesTempFile) {
  TempDir tmp;
  const std::filesystem::path target = tmp.path() / "occupied";
  std::filesystem::create_directories(target / "child");
  expect_error([&] { write_file_atomic(target, "hello"); }, {target.string(), "cannot rename"});
  EXPECT_TRUE(std::filesystem::is_directory(target / "child"));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(AtomicFile, WritesAndReplaces) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "a.txt";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second, longer");
  EXPECT_EQ(test::read_bytes(path), "second, longer");
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
  {
    AtomicFile abandoned(tmp.path() / "b.txt");
    abandoned.write("never committed");
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "b.txt"));
  EXPECT_TRUE(test::temp_leftovers(tmp.path()).empty());
}

TEST(SafetensorsReader, TruncatedFileIsRefusedAtEveryCut) {
  TempDir tmp;
  const std::filesystem::path good = write_small(tmp.path());
  const std::string bytes = test::read_bytes(good);
  const size_t header_end = 8 + header_of(good).size();
  const std::filesystem::path cut = tmp.path() / "cut.safetensors";
  for (size_t length : {size_t{0}, size_t{3}, size_t{7}, size_t{8}, size_t{20}, header_end - 1, header_end,
                        header_end + 5, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(length));
    test::write_bytes(cut, bytes.substr(0, length));
    expect_error([&] { SafetensorsFile file(cut); }, {"[safetensors]", cut.string()});
  }
  test::write_bytes(cut, bytes.substr(0, 5));
  expect_error([&] { SafetensorsFile file(cut); }, {"file has 5 bytes, too short"});
  test::write_bytes(cut, bytes.substr(0, header_end + 5));
  expect_error([&] { SafetensorsFile file(cut); }, {"ends at byte", "but the data section has 5 bytes"});
}

TEST(SafetensorsReader, HeaderLengthBeyondFile) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "long.safetensors";
  uint64_t n = 1000;
  test::write_bytes(path, std::string(reinterpret_cast<const char*>(&n), 8) + "{}");
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "header length 1000 is larger than the rest of the file (2 bytes)"});
}

TEST(SafetensorsReader, InvalidJsonHeader) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "json.safetensors";
  test::write_raw_safetensors(path, "{\"a\": {\"dtype\": ", "");
  expect_error([&] { SafetensorsFile file(path); }, {path.string(), "header: invalid JSON at byte"});
  test::write_raw_safetensors(path, "[1, 2]", "");
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "header is an array, expected a JSON object"});
}

TEST(SafetensorsReader, OffsetsOutsideTheFile) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "outside.safetensors";
  test::write_raw_safetensors(path, R"({"x":{"dtype":"U8","shape":[912],"data_offsets":[0,912]}})",
                              std::string(800, '\0'));
  expect_error([&] { SafetensorsFile file(path); },
               {"[safetensors] " + path.string() +
                ": tensor 'x' ends at byte 912 but the data section has 800 bytes"});
}

TEST(SafetensorsReader, OverlappingTensors) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "overlap.safetensors";
  test::write_raw_safetensors(path,
                              R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},)"
                              R"("c":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                              std::string(32, '\0'));
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "tensors 'a' [0, 16) and 'c' [8, 16) overlap"});
}

TEST(SafetensorsReader, WrongByteCount) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "count.safetensors";
  test::write_raw_safetensors(path, R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}})",
                              std::string(8, '\0'));
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "tensor 'w' has 8 bytes but shape [2, 3] of F16 needs 12"});
}

TEST(SafetensorsReader, UnknownDtype) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "dtype.safetensors";
  test::write_raw_safetensors(path, R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab");
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "tensor 'w' has unknown dtype \"F8_E4M3\""});
}

TEST(SafetensorsReader, MalformedEntries) {
  TempDir tmp;
  const std::filesystem::path path = tmp.path() / "entries.safetensors";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"w":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", "expected a list of non-negative ints"},
      {R"({"w":{"dtype":"U8","shape":"2","data_offsets":[0,2]}})", "expected a list of non-negative ints"},
      {R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}})", "expected a list of non-negative ints"},
      {R"({"w":{"dtype":"U8","shape":[2]}})", "tensor 'w' has no data_offsets"},
      {R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,1,2]}})", "expected [begin, end]"},
      {R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[2,0]}})", "begin > end"},
      {R"({"w":{"shape":[2],"data_offsets":[0,2]}})", "tensor 'w' has no dtype"},
      {R"({"w":[1,2]})", "tensor 'w' is [1, 2], expected an object"},
      {R"({"__metadata__":{"format":1}})", "__metadata__ key \"format\" is 1, expected a string"},
      {R"({"__metadata__":["pt"]})", "__metadata__ is an array"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,2]}})", "overflows"},
  };
  for (const auto& [header, problem] : cases) {
    SCOPED_TRACE(header);
    test::write_raw_safetensors(path, header, "ab");
    expect_error([&] { SafetensorsFile file(path); }, {path.string(), problem});
  }
}

TEST(WeightStore, OpensSingleFileAndChecksShapes) {
  TempDir tmp;
  const std::vector<uint16_t> half = {f32_to_f16(1.0f), f32_to_f16(-0.5f)};
  write_safetensors(tmp.path() / "model.safetensors", {{"h", DType::F16, {1, 2}, as_bytes(half)}});
  const WeightStore store = WeightStore::open_dir(tmp.path());
  EXPECT_EQ(store.names(), std::vector<std::string>{"h"});
  EXPECT_EQ(store.load_f32("h", {1, 2}), (std::vector<float>{1.0f, -0.5f}));
  expect_error(
      [&] {
        store.load_f32("h", {2, 1});
      },
      {tmp.path().string(), "tensor 'h' has shape [1, 2], expected [2, 1]"});
  expect_error([&] { store.require("missing"); }, {tmp.path().string(), "missing tensor 'missing'"});
  EXPECT_EQ(store.find("missing"), nullptr);
}

// A tensor's bytes stay readable after the store is gone while its mapping is
// held (quantized embedding tables read their rows in place), even after the
// store gave the pages it read back to the page cache.
TEST(WeightStore, MappingOutlivesTheStore) {
  TempDir tmp;
  std::vector<uint32_t> words(4096);
  for (size_t i = 0; i < words.size(); ++i) words[i] = static_cast<uint32_t>(i * 2654435761u);
  write_safetensors(tmp.path() / "model.safetensors", {{"w", DType::U32, {64, 64}, as_bytes(words)}});
  std::shared_ptr<const void> mapping;
  const uint32_t* data = nullptr;
  {
    const WeightStore store = WeightStore::open_dir(tmp.path());
    const TensorView& view = store.require("w");
    data = reinterpret_cast<const uint32_t*>(view.data);
    EXPECT_EQ(data[7], words[7]);  // read once, so there is a page to give back
    mapping = store.mapping_of(view);
    ASSERT_NE(mapping, nullptr);
    const TensorView no_data{"x", DType::F32, {}, nullptr, 0};
    EXPECT_EQ(store.mapping_of(no_data), nullptr);
  }
  EXPECT_EQ(std::vector<uint32_t>(data, data + words.size()), words);
}

TEST(WeightStore, EmptyDirectoryNamesWhatIsMissing) {
  TempDir tmp;
  expect_error(
      [&] { WeightStore::open_dir(tmp.path()); },
      {tmp.path().string() + ": no model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                             "pytorch_model.bin.index.json"});
}

void write_two_shards(const std::filesystem::path& dir) {
  static const std::vector<float> a = {1, 2}, b = {3, 4, 5};
  write_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::F32, {2}, as_bytes(a)}});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {{"b", DType::F32, {3}, as_bytes(b)}});
}

TEST(WeightStore, OpensShardedIndex) {
  TempDir tmp;
  write_two_shards(tmp.path());
  write_file_atomic(tmp.path() / "model.safetensors.index.json",
                    R"({"metadata":{"total_size":20},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                    R"("b":"model-00002-of-00002.safetensors"}})");
  const WeightStore store = WeightStore::open_dir(tmp.path());
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.load_f32("b", {3}), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(store.load_f32("a", {2}), (std::vector<float>{1, 2}));
}

TEST(WeightStore, ShardedIndexErrors) {
  TempDir tmp;
  write_two_shards(tmp.path());
  const std::filesystem::path index = tmp.path() / "model.safetensors.index.json";
  write_file_atomic(
      index,
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00003-of-00003.safetensors"}})");
  expect_error([&] { WeightStore::open_dir(tmp.path()); },
               {index.string(), R"(shard "model-00003-of-00003.safetensors" does not exist)"});
  write_file_atomic(index, R"({"weight_map":{"b":"model-00001-of-00002.safetensors"}})");
  expect_error([&] { WeightStore::open_dir(tmp.path()); },
               {index.string(), R"(tensor "b" is not in its shard "model-00001-of-00002.safetensors")"});
  // A name longer than the file system takes (found by fuzz_sharded_index: an
  // uncaught std::filesystem_error), in a message of bounded length.
  const std::string long_name(5000, 'x');
  write_file_atomic(index, R"({"weight_map":{"b":")" + long_name + R"("}})");
  const std::string message =
      expect_error([&] { WeightStore::open_dir(tmp.path()); },
                   {index.string(), R"(shard "xxxx)", "does not exist", "File name too long"});
  EXPECT_LT(message.size(), 400u) << message;
  write_file_atomic(index, R"({"weight_map":{"b":"../elsewhere.safetensors"}})");
  expect_error([&] { WeightStore::open_dir(tmp.path()); },
               {index.string(), "expected a file name in the same directory"});
  write_file_atomic(index, R"({"weight_map": [)");
  expect_error([&] { WeightStore::open_dir(tmp.path()); }, {index.string(), "invalid JSON"});
  write_file_atomic(index, R"({"metadata": {}})");
  expect_error([&] { WeightStore::open_dir(tmp.path()); }, {index.string(), "missing key 'weight_map'"});
}

void check_bert_store(const WeightStore& store, size_t count, DType dtype, const std::string& prefix) {
  EXPECT_EQ(store.names().size(), count);
  for (const std::string& name : store.names()) EXPECT_EQ(store.require(name).dtype, dtype) << name;
  EXPECT_EQ(store.require(prefix + "embeddings.word_embeddings.weight").shape, (Shape{30522, 384}));
  EXPECT_EQ(store.require(prefix + "embeddings.position_embeddings.weight").shape, (Shape{512, 384}));
  EXPECT_EQ(store.require(prefix + "encoder.layer.5.intermediate.dense.weight").shape, (Shape{1536, 384}));
  EXPECT_EQ(store.require(prefix + "encoder.layer.0.output.dense.weight").shape, (Shape{384, 1536}));
  const std::vector<float> gamma = store.load_f32(prefix + "encoder.layer.3.output.LayerNorm.weight", {384});
  for (float g : gamma) EXPECT_TRUE(std::isfinite(g));
}

TEST(SharedModels, GenreClassifierWeights) {
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  const WeightStore store = WeightStore::open_dir(test::shared_dir() / "models/minilm-l6-genre");
  check_bert_store(store, 105, DType::F32, "bert.");
  EXPECT_EQ(store.require("classifier.weight").shape, (Shape{4, 384}));
  EXPECT_EQ(store.require("classifier.bias").shape, (Shape{4}));
}

TEST(SharedModels, NliClassifierIsF16) {
  QP_REQUIRE_SHARED("models/minilm-l6-nli");
  const WeightStore store = WeightStore::open_dir(test::shared_dir() / "models/minilm-l6-nli");
  check_bert_store(store, 105, DType::F16, "bert.");
  EXPECT_EQ(store.require("classifier.weight").shape, (Shape{3, 384}));
}

TEST(SharedModels, StsBaseModelWeights) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  const SafetensorsFile file(test::shared_dir() / "models/minilm-l6-sts/model.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const WeightStore store = WeightStore::open_dir(test::shared_dir() / "models/minilm-l6-sts");
  check_bert_store(store, 103, DType::F32, "");
  EXPECT_EQ(store.find("classifier.weight"), nullptr);
}

}  // namespace
}  // namespace qp
