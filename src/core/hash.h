// Content fingerprints (FNV-1a, 64 bit): cheap, stable across machines, good
// enough to notice that a source model or a plan changed. Not cryptographic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace qp {

class Fingerprint {
 public:
  void add(std::span<const std::byte> bytes);
  void add(std::string_view text);
  // Adds a file's bytes (memory-mapped); throws naming the file when unreadable.
  void add_file(const std::filesystem::path& path);
  uint64_t value() const { return state_; }
  std::string hex() const;  // 16 lowercase hex digits

 private:
  uint64_t state_ = 0xcbf29ce484222325ull;
};

}  // namespace qp
