// Strict reading of the JSON that users bring (issue 10, items 3, 5, 6, 9):
// no crash on deep nesting, no silently kept duplicate keys, messages that name
// the file and stay short, and safetensors data sections that must be tiled
// exactly by the tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/json_fields.h"
#include "core/json_read.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace qp {
namespace {

using nlohmann::json;
using test::expect_error;
using test::TempDir;

std::string nested(const std::string& open, const std::string& core, const std::string& close, int depth) {
  std::string text;
  text.reserve(depth * (open.size() + close.size()) + core.size());
  for (int i = 0; i < depth; ++i) text += open;
  text += core;
  for (int i = 0; i < depth; ++i) text += close;
  return text;
}

TEST(StrictJson, DeepNestingIsRefusedWithoutRecursion) {
  // 100k levels: nlohmann's dump() of such a value overflowed the stack in an error message.
  const std::string arrays = nested("[", "1", "]", 100000);
  const std::string message = expect_error([&] { parse_json(arrays, "deep.json"); },
                                           {"deep.json", "nesting is deeper than 64 levels"});
  EXPECT_LT(message.size(), 200u);
  const std::string objects = nested("{\"a\":", "1", "}", 100000);
  expect_error([&] { parse_json(objects, "deep.json"); }, {"deep.json", "deeper than 64"});
  // 60 levels are fine.
  EXPECT_NO_THROW(parse_json(nested("[", "1", "]", 60), "ok.json"));
}

TEST(StrictJson, DuplicateKeysAreRefusedAtAnyLevel) {
  expect_error([] { parse_json(R"({"a": 1, "a": 2})", "dup.json"); },
               {"dup.json", "key \"a\" appears twice in one object"});
  expect_error([] { parse_json(R"({"x": {"b": 1, "c": 2, "b": 3}})", "dup.json"); },
               {"key \"b\" appears twice"});
  // The same key in sibling objects is fine.
  EXPECT_NO_THROW(parse_json(R"([{"a": 1}, {"a": 2}])", "ok.json"));
}

// A diverted object's members go to the handler in file order and leave the
// object empty; everything else, duplicate checks included, is as before.
// An array of many objects, and an object of many object members (a
// safetensors header, serve's request bodies). json::parse with a callback
// walked the enclosing container after every finished object: 40,000 "{}"
// took two minutes there, a 1 MiB request body far longer.
TEST(StrictJson, ManySmallObjectsParseInOnePass) {
  constexpr size_t kCount = 300000;
  std::string array = "[";
  for (size_t i = 0; i < kCount; ++i) array += i ? ",{}" : "{}";
  array += "]";
  const json parsed = parse_json(array, "many.json");
  ASSERT_TRUE(parsed.is_array());
  EXPECT_EQ(parsed.size(), kCount);
  EXPECT_TRUE(parsed.back().is_object());
  std::string object = "{";
  for (size_t i = 0; i < kCount; ++i) object += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":{\"v\":[1]}";
  object += "}";
  const json members = parse_json(object, "members.json");
  EXPECT_EQ(members.size(), kCount);
  EXPECT_EQ(members.at("k299999").at("v"), json::array({1}));
  expect_error([&] { parse_json(object.substr(0, object.size() - 1) + ",\"k7\":{}}", "members.json"); },
               {"members.json", "key \"k7\" appears twice in one object"});
}

TEST(StrictJson, DivertedObjectMembersGoToTheHandler) {
  std::vector<std::pair<std::string, json>> taken;
  const JsonDivert divert{{"model", "vocab"}, [&](const std::string& key, const json& value) {
                            for (const auto& [k, v] : taken)
                              if (k == key) return false;
                            taken.emplace_back(key, value);
                            return true;
                          }};
  const json doc = parse_json(
      R"({"vocab": {"top": 1}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "##b": 2, "x": [1]},
          "list": [{"vocab": {"k": 3}}]}, "after": {"z": 1}})",
      "tok.json", &divert);
  ASSERT_EQ(taken.size(), 4u);
  EXPECT_EQ(taken[0], (std::pair<std::string, json>{"[UNK]", 0}));
  EXPECT_EQ(taken[2], (std::pair<std::string, json>{"##b", 2}));
  EXPECT_EQ(taken[3], (std::pair<std::string, json>{"x", json::array()}));  // containers come empty
  EXPECT_EQ(doc["model"]["vocab"], json::object());
  EXPECT_EQ(doc["vocab"], (json{{"top", 1}}));  // same key elsewhere: kept
  EXPECT_EQ(doc["model"]["list"][0]["vocab"], (json{{"k", 3}}));
  EXPECT_EQ(doc["model"]["type"], "WordPiece");
  EXPECT_EQ(doc["after"], (json{{"z", 1}}));
  taken.clear();
  expect_error([&] { parse_json(R"({"model": {"vocab": {"a": 1, "b": 2, "a": 3}}})", "dup.json", &divert); },
               {"dup.json", "key \"a\" appears twice in one object"});
  taken.clear();
  expect_error([&] { parse_json(R"({"model": {"vocab": {"a": 1}, "x": 1, "x": 2}})", "dup.json", &divert); },
               {"dup.json", "key \"x\" appears twice"});
  // A path through an array never matches.
  taken.clear();
  const JsonDivert through_array{{"list", "vocab"}, divert.take};
  const json kept = parse_json(R"({"list": [{"vocab": {"a": 1}}]})", "a.json", &through_array);
  EXPECT_TRUE(taken.empty());
  EXPECT_EQ(kept["list"][0]["vocab"], (json{{"a", 1}}));
}

TEST(StrictJson, LibraryMessagesAreRewordedAndNameTheFile) {
  const std::string overflow =
      expect_error([] { parse_json(R"({"hidden_size": 1e400})", "config.json"); }, {"config.json", "1e400"});
  EXPECT_EQ(overflow.find("[json.exception"), std::string::npos) << overflow;
  const std::string syntax =
      expect_error([] { parse_json(R"({"a": )", "config.json"); }, {"config.json", "invalid JSON at byte"});
  EXPECT_EQ(syntax.find("[json.exception"), std::string::npos) << syntax;
}

TEST(StrictJson, ExcerptsStayShort) {
  EXPECT_EQ(json_excerpt(json("gelu")), "\"gelu\"");
  EXPECT_EQ(json_excerpt(json::array({1, 2, 3})), "[1, 2, 3]");
  const std::string big = json_excerpt(json(std::string(50 << 20, 'x')));
  EXPECT_LT(big.size(), 120u);
  EXPECT_NE(big.find("(52428800 bytes)"), std::string::npos) << big;
  // Deep values are summarised, never walked to the bottom.
  json deep = 1;
  for (int i = 0; i < 1000; ++i) deep = json::array({deep});
  EXPECT_EQ(json_excerpt(deep), "[[[an array of 1 item]]]");
  json wide = json::object();
  for (int i = 0; i < 1000; ++i) wide[std::to_string(i)] = i;
  EXPECT_EQ(json_excerpt(wide), "an object with 1000 keys");
}

TEST(StrictJson, FieldsNameFileKeyPathAndExpectation) {
  const json doc = parse_json(R"({"model": {"vocab": {"a": -1}, "name": null}, "n": "384"})", "tok.json");
  const JsonFields root(doc, "tok.json");
  expect_error([&] { root.integer("n", 1, 10); },
               {"tok.json", "key 'n' is \"384\" (a string)", "expected an integer"});
  const JsonFields vocab = root.object("model").object("vocab");
  expect_error([&] { vocab.integer("a", 0, 5); }, {"key 'model.vocab.a' is -1", "from 0 to 5"});
  expect_error([&] { root.object("model").string("name"); }, {"missing key 'model.name'"});
  expect_error([&] { root.object("n"); }, {"key 'n' is \"384\" (a string), expected an object"});
}

TEST(StrictJson, DeeplyNestedConfigValueIsRefusedCleanly) {
  TempDir tmp;
  std::ofstream(tmp.path() / "config.json")
      << "{\"model_type\": \"bert\", \"hidden_size\": " << nested("[", "1", "]", 100000) << "}";
  expect_error([&] { read_model_dir(tmp.path()); }, {"config.json", "deeper than 64"});
}

TEST(StrictJson, DeeplyNestedSafetensorsShapeIsRefusedCleanly) {
  TempDir tmp;
  const auto path = tmp.path() / "deep.safetensors";
  for (const char* key : {"shape", "dtype", "data_offsets"}) {
    test::write_raw_safetensors(
        path, std::string("{\"w\": {\"") + key + "\": " + nested("[", "1", "]", 100000) + "}}", "");
    expect_error([&] { SafetensorsFile file(path); }, {path.string(), "deeper than 64"});
  }
}

TEST(StrictJson, DuplicateTensorInSafetensorsHeaderIsRefused) {
  TempDir tmp;
  const auto path = tmp.path() / "dup.safetensors";
  test::write_raw_safetensors(
      path,
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
      std::string(8, '\0'));
  expect_error([&] { SafetensorsFile file(path); }, {path.string(), "key \"w\" appears twice"});
}

TEST(SafetensorsTiling, HeaderLengthOffByOneWithPaddingIsRefused) {
  TempDir tmp;
  const auto path = tmp.path() / "shifted.safetensors";
  // A header padded with a space (as writers pad to 8 bytes), and a header
  // length one byte short: the JSON still parses without its padding, the
  // space becomes the first data byte, and without the tiling check every
  // tensor would silently be read one byte early.
  const std::string header = R"({"w": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}} )";
  const uint64_t n = header.size() - 1;
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  test::write_bytes(path, bytes + header + "abc");
  expect_error([&] { SafetensorsFile file(path); },
               {path.string(), "the tensors end at byte 3", "has 4 bytes"});
}

TEST(SafetensorsTiling, GapsAndTrailingBytesAreRefused) {
  TempDir tmp;
  const auto path = tmp.path() / "gap.safetensors";
  test::write_raw_safetensors(
      path,
      R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [3, 5]}})",
      "abcde");
  expect_error([&] { SafetensorsFile file(path); }, {"bytes [2, 3) of the data section belong to no tensor"});
  test::write_raw_safetensors(path, R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})",
                              "abcd");
  expect_error([&] { SafetensorsFile file(path); }, {"the tensors end at byte 2", "has 4 bytes"});
  // Exactly tiled, zero-sized tensors anywhere: fine.
  test::write_raw_safetensors(
      path,
      R"({"e": {"dtype": "U8", "shape": [0], "data_offsets": [2, 2]}, "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}})",
      "abcd");
  EXPECT_NO_THROW(SafetensorsFile file(path));
}

}  // namespace
}  // namespace qp
