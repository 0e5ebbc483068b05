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
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace qp {

// Deeper than any real Hugging Face file (tokenizer.json nests about 6 levels).
inline constexpr int kMaxJsonDepth = 64;

// Parses text; throws qp::Error "<where>: <problem>" for syntax errors (with the
// byte offset), numbers out of range, duplicate keys and nesting deeper than
// kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text, const std::string& where);

// Reads and parses a whole file; errors name the path ("<path>: file not found").
nlohmann::json read_json_file(const std::filesystem::path& path);

// read_json_file() that also requires a top-level object.
nlohmann::json read_json_object_file(const std::filesystem::path& path);

// At most about max_chars characters describing value: scalars as JSON text
// (long strings cut with "… (N bytes)"), small containers inline, large or deep
// ones summarised ("an array of 3 items", "an object with 2 keys").
std::string json_excerpt(const nlohmann::json& value, size_t max_chars = 80);

// "a string", "an integer", "an object", ... for "expected X, found Y" messages.
std::string json_kind(const nlohmann::json& value);

}  // namespace qp
