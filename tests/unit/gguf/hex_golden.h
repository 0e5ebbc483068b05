// The GGUF golden files (tests/golden/gguf): read once, hex strings as bytes
// and float32 values.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_paths.h"

namespace qp::test {

inline std::vector<uint8_t> hex_bytes(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

// Little-endian float32 values.
inline std::vector<float> hex_floats(const std::string& hex) {
  const std::vector<uint8_t> bytes = hex_bytes(hex);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

// tests/golden/gguf/<name>, parsed.
inline nlohmann::json read_gguf_golden(const std::string& name) {
  std::ifstream in(source_dir() / "tests/golden/gguf" / name);
  return nlohmann::json::parse(in);
}

}  // namespace qp::test
