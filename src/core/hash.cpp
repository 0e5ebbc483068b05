#include "core/hash.h"

#include <cstdio>

#include "core/mapped_file.h"

namespace qp {

void Fingerprint::add(std::span<const std::byte> bytes) {
  constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t h = state_;
  for (std::byte b : bytes) h = (h ^ static_cast<uint8_t>(b)) * kPrime;
  state_ = h;
}

void Fingerprint::add(std::string_view text) { add(std::as_bytes(std::span(text.data(), text.size()))); }

void Fingerprint::add_file(const std::filesystem::path& path) {
  const MappedFile file(path);
  add(file.bytes());
}

std::string Fingerprint::hex() const {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(state_));
  return buffer;
}

}  // namespace qp
