// GGUF writer and reader: a round trip, and one clear error for each kind of
// broken file (truncated, wrong magic, newer version, offsets outside the file,
// misaligned data, unknown tensor types).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"
#include "test_paths.h"

namespace qp {
namespace {

using quant::GgmlType;

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::filesystem::path write_sample(const test::TempDir& dir) {
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::string("bert"));
  writer.set("bert.block_count", GgufValue::u32(2));
  writer.set("bert.attention.layer_norm_epsilon", GgufValue::f32(1e-12f));
  writer.set("bert.attention.causal", GgufValue::boolean(false));
  writer.set("tokenizer.ggml.tokens", GgufValue::strings({"[PAD]", "\xe2\x96\x81hello", "##x"}));
  const std::vector<float> scores = {0.0f, -1.5f, -2.0f};
  writer.set("tokenizer.ggml.scores", GgufValue::f32s(scores));
  std::vector<float> values(64 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
  writer.add_tensor(
      {"token_embd.weight", GgmlType::Q8_0, {64, 3}, quant::ggml_quantize(GgmlType::Q8_0, values, 64)});
  writer.add_tensor({"norm.weight", GgmlType::F32, {5}, std::vector<uint8_t>(20, 0)});
  writer.add_tensor({"blk.0.w", GgmlType::F16, {64, 3}, quant::ggml_quantize(GgmlType::F16, values, 64)});
  const auto path = dir.path() / "sample.gguf";
  writer.write(path);
  return path;
}

// Byte position just after the tensor name `name` in the tensor infos.
size_t after_name(const std::vector<uint8_t>& bytes, const std::string& name) {
  const auto it = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  EXPECT_NE(it, bytes.end());
  return static_cast<size_t>(it - bytes.begin()) + name.size();
}

std::string error_of(const std::filesystem::path& path) {
  try {
    GgufFile file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufFile, RoundTripKeepsKeysTensorsAndAlignment) {
  test::TempDir dir;
  const GgufFile file(write_sample(dir));
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.string("general.architecture"), "bert");
  EXPECT_EQ(file.integer("bert.block_count"), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(file.number("bert.attention.layer_norm_epsilon")), 1e-12f);
  EXPECT_EQ(file.require("bert.attention.causal").integer, 0);
  const GgufValue& tokens = file.require("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.items.size(), 3u);
  EXPECT_EQ(tokens.items[1].text, "\xe2\x96\x81hello");
  EXPECT_EQ(file.metadata().front().first, "general.architecture");
  ASSERT_EQ(file.tensors().size(), 3u);
  for (const GgufTensorInfo& t : file.tensors()) EXPECT_EQ(t.offset % 32, 0u) << t.name;
  const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->ne, (std::vector<int64_t>{64, 3}));
  EXPECT_EQ(embd->bytes, 3u * 2 * 34);
  const std::vector<float> back = quant::ggml_dequantize(embd->type, file.tensor_bytes(*embd), 192);
  EXPECT_NEAR(back[5], 5 * 0.01f - 0.08f, 1e-3f);
  EXPECT_THROW(file.string("bert.block_count"), Error);
  EXPECT_THROW(file.integer("missing.key"), Error);
}

TEST(GgufFile, TruncatedFilesNameWhatIsMissing) {
  test::TempDir dir;
  const auto path = write_sample(dir);
  const std::vector<uint8_t> bytes = read_bytes(path);
  for (size_t keep :
       {size_t{3}, size_t{10}, size_t{40}, after_name(bytes, "norm.weight") + 2, bytes.size() - 1}) {
    write_bytes(path, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)});
    const std::string message = error_of(path);
    EXPECT_NE(message.find("sample.gguf"), std::string::npos) << keep << ": " << message;
    EXPECT_TRUE(message.find("truncated") != std::string::npos ||
                message.find("outside the file") != std::string::npos)
        << keep << ": " << message;
  }
}

TEST(GgufFile, WrongMagicAndNewerVersionAreRefused) {
  test::TempDir dir;
  const auto path = write_sample(dir);
  std::vector<uint8_t> bytes = read_bytes(path);
  std::vector<uint8_t> magic = bytes;
  std::memcpy(magic.data(), "GGML", 4);
  write_bytes(path, magic);
  EXPECT_NE(error_of(path).find("not a GGUF file: it starts with \"GGML\""), std::string::npos)
      << error_of(path);
  std::vector<uint8_t> newer = bytes;
  newer[4] = 4;
  write_bytes(path, newer);
  EXPECT_NE(error_of(path).find("GGUF version 4 is newer than quantpipe reads"), std::string::npos);
  std::vector<uint8_t> older = bytes;
  older[4] = 1;
  write_bytes(path, older);
  EXPECT_NE(error_of(path).find("GGUF version 1 is older"), std::string::npos);
}

TEST(GgufFile, OffsetsAlignmentAndTypesAreChecked) {
  test::TempDir dir;
  const auto path = write_sample(dir);
  const std::vector<uint8_t> bytes = read_bytes(path);
  // tensor info after the name: u32 dims, i64 ne[dims], u32 type, u64 offset
  const size_t info = after_name(bytes, "blk.0.w");
  const size_t type_at = info + 4 + 2 * 8, offset_at = type_at + 4;

  std::vector<uint8_t> outside = bytes;
  const uint64_t far = 1u << 20;
  std::memcpy(outside.data() + offset_at, &far, 8);
  write_bytes(path, outside);
  EXPECT_NE(
      error_of(path).find("tensor 'blk.0.w': its 384 bytes at data offset 1048576 lie outside the file"),
      std::string::npos)
      << error_of(path);

  std::vector<uint8_t> misaligned = bytes;
  uint64_t offset;
  std::memcpy(&offset, misaligned.data() + offset_at, 8);
  offset += 2;
  std::memcpy(misaligned.data() + offset_at, &offset, 8);
  write_bytes(path, misaligned);
  EXPECT_NE(error_of(path).find("is not a multiple of the alignment 32"), std::string::npos)
      << error_of(path);

  std::vector<uint8_t> unknown = bytes;
  const uint32_t iq2 = 16;
  std::memcpy(unknown.data() + type_at, &iq2, 4);
  write_bytes(path, unknown);
  EXPECT_NE(error_of(path).find("tensor 'blk.0.w': ggml type 16 is unknown to quantpipe"), std::string::npos)
      << error_of(path);

  std::vector<uint8_t> huge_dims = bytes;
  const uint32_t dims = 9;
  std::memcpy(huge_dims.data() + info, &dims, 4);
  write_bytes(path, huge_dims);
  EXPECT_NE(error_of(path).find("9 dimensions"), std::string::npos) << error_of(path);

  std::vector<uint8_t> count = bytes;
  const int64_t many = int64_t{1} << 40;
  std::memcpy(count.data() + 8, &many, 8);
  write_bytes(path, count);
  EXPECT_NE(error_of(path).find("tensor count 1099511627776 cannot fit"), std::string::npos)
      << error_of(path);
}

TEST(GgufFile, WriterRefusesInconsistentTensors) {
  test::TempDir dir;
  GgufWriter writer;
  writer.add_tensor({"a", GgmlType::Q4_0, {64, 2}, std::vector<uint8_t>(10)});
  try {
    writer.write(dir.path() / "bad.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'a' has 10 bytes, its shape and type need 72"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "bad.gguf"));
  GgufWriter rows;
  rows.add_tensor({"b", GgmlType::TQ2_0, {384, 1}, std::vector<uint8_t>(99)});
  EXPECT_THROW(rows.write(dir.path() / "bad.gguf"), Error);
}

}  // namespace
}  // namespace qp
