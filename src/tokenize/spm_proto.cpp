#include "tokenize/spm_proto.h"

#include <cstdint>
#include <optional>

#include "core/error.h"

namespace qp::tok {

namespace {

bool read_varint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// The bytes of length-delimited field `number`; nullopt when absent; throws when malformed.
std::optional<std::string_view> find_field(std::string_view message, uint64_t number,
                                           const std::string& what) {
  while (!message.empty()) {
    uint64_t tag = 0, value = 0;
    bool ok = read_varint(message, tag);
    switch (tag & 7) {
      case 0:
        ok = ok && read_varint(message, value);
        break;
      case 1:
      case 5: {
        const size_t width = (tag & 7) == 1 ? 8 : 4;
        ok = ok && message.size() >= width;
        if (ok) message.remove_prefix(width);
        break;
      }
      case 2:
        ok = ok && read_varint(message, value) && value <= message.size();
        if (ok && (tag >> 3) == number) return message.substr(0, value);
        if (ok) message.remove_prefix(value);
        break;
      default:
        ok = false;
    }
    if (!ok) fail(what, ": the SentencePiece model proto is malformed");
  }
  return std::nullopt;
}

}  // namespace

std::string spm_precompiled_charsmap(std::string_view model_proto, const std::string& what) {
  const auto normalizer_spec = find_field(model_proto, 3, what);
  if (!normalizer_spec) return {};
  const auto charsmap = find_field(*normalizer_spec, 2, what);
  return charsmap ? std::string(*charsmap) : std::string();
}

}  // namespace qp::tok
