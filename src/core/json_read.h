// Strict JSON reading for files users bring (config.json, safetensors headers,
// tokenizer.json, modules.json, index files). nlohmann::json alone accepts
// duplicate keys (the last silently wins), any nesting depth (and its dump()
// recurses, so an error message that echoes a value 100k levels deep overflows
// the stack), and reports problems as "[json.exception.out_of_range.406] ...".
// parse_json() refuses duplicates and deep nesting and turns every library
// error into one line naming the file; json_excerpt() renders any value in
// bounded space and time for error messages.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qp {

// Deeper than any real Hugging Face file (tokenizer.json nests about 6 levels).
inline constexpr int kMaxJsonDepth = 64;

// The members of one object handed over as they are parsed instead of stored
// in the document: for a big object that is read once into a structure of its
// own (tokenizer.json's model.vocab: 30,000–250,000 entries, whose tree of
// nodes costs more to build and free than the rest of the file). The object
// stays in the document, empty.
struct JsonDivert {
  std::vector<std::string> path;  // keys from the root to the object, e.g. {"model", "vocab"}
  // Each member, in file order (a container value comes as an empty one of its
  // kind). Returns false when the key was taken before: a duplicate, which
  // the parse reports as such. May throw qp::Error for a bad value.
  std::function<bool(const std::string& key, const nlohmann::json& value)> take;
};

// Parses text; throws qp::Error "<where>: <problem>" for syntax errors (with the
// byte offset), numbers out of range, duplicate keys and nesting deeper than
// kMaxJsonDepth. `divert`, when given, takes one object's members (see above).
nlohmann::json parse_json(std::string_view text, const std::string& where,
                          const JsonDivert* divert = nullptr);

// Reads and parses a whole file; errors name the path ("<path>: file not found").
nlohmann::json read_json_file(const std::filesystem::path& path, const JsonDivert* divert = nullptr);

// read_json_file() that also requires a top-level object.
nlohmann::json read_json_object_file(const std::filesystem::path& path, const JsonDivert* divert = nullptr);

// At most about max_chars characters describing value: scalars as JSON text
// (long strings cut with "… (N bytes)"), small containers inline, large or deep
// ones summarised ("an array of 3 items", "an object with 2 keys").
std::string json_excerpt(const nlohmann::json& value, size_t max_chars = 80);

// "a string", "an integer", "an object", ... for "expected X, found Y" messages.
std::string json_kind(const nlohmann::json& value);

}  // namespace qp
