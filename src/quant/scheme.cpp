// Scheme names, parsing and validation.
#include "quant/scheme.h"

#include <charconv>

#include "core/error.h"

namespace qp::quant {
namespace {

bool valid_group(int group) { return group == 32 || group == 64 || group == 128; }

bool valid_bits(int bits) { return bits >= 2 && bits <= 8 && bits != 7; }

// Parses a whole decimal number, nothing before or after.
bool parse_int(std::string_view text, int& value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

[[noreturn]] void bad_name(std::string_view text, std::string_view why) {
  fail("[quant] scheme '", text, "': ", why,
       " (expected q<bits>_<sym|affine>_<tensor|ch|g32|g64|g128> or ternary_<tensor|ch|g32|g64|g128>)");
}

// Reads the granularity suffix into scheme.
void parse_granularity(std::string_view text, std::string_view part, QuantScheme& scheme) {
  if (part == "tensor") {
    scheme.granularity = Granularity::PerTensor;
    scheme.group_size = 0;
  } else if (part == "ch") {
    scheme.granularity = Granularity::PerChannel;
    scheme.group_size = 0;
  } else if (part.size() > 1 && part[0] == 'g' && parse_int(part.substr(1), scheme.group_size)) {
    scheme.granularity = Granularity::PerGroup;
  } else {
    bad_name(text, "unknown granularity '" + std::string(part) + "'");
  }
}

}  // namespace

QuantScheme parse_scheme(std::string_view text) {
  QuantScheme scheme;
  const size_t first = text.find('_');
  if (first == std::string_view::npos) bad_name(text, "missing '_'");
  const std::string_view head = text.substr(0, first);
  std::string_view rest = text.substr(first + 1);
  if (head == "ternary") {
    scheme.kind = QuantKind::Ternary;
    scheme.bits = 2;
  } else {
    if (head.size() < 2 || head[0] != 'q' || !parse_int(head.substr(1), scheme.bits))
      bad_name(text, "expected 'q<bits>' or 'ternary' before the first '_'");
    const size_t second = rest.find('_');
    if (second == std::string_view::npos) bad_name(text, "missing granularity");
    const std::string_view kind = rest.substr(0, second);
    if (kind == "sym") {
      scheme.kind = QuantKind::Symmetric;
    } else if (kind == "affine") {
      scheme.kind = QuantKind::Affine;
    } else {
      bad_name(text, "unknown kind '" + std::string(kind) + "' (sym or affine)");
    }
    rest = rest.substr(second + 1);
  }
  parse_granularity(text, rest, scheme);
  validate_scheme(scheme);
  return scheme;
}

std::string format_scheme(const QuantScheme& scheme) {
  std::string name;
  if (scheme.kind == QuantKind::Ternary) {
    name = "ternary_";
  } else {
    name = cat("q", scheme.bits, scheme.kind == QuantKind::Symmetric ? "_sym_" : "_affine_");
  }
  switch (scheme.granularity) {
    case Granularity::PerTensor:
      return name + "tensor";
    case Granularity::PerChannel:
      return name + "ch";
    case Granularity::PerGroup:
      break;
  }
  return cat(name, "g", scheme.group_size);
}

void validate_scheme(const QuantScheme& scheme) {
  const std::string name = format_scheme(scheme);
  if (scheme.kind == QuantKind::Ternary && scheme.bits != 2)
    fail("[quant] scheme '", name, "': ternary codes are stored with 2 bits, got ", scheme.bits);
  if (!valid_bits(scheme.bits))
    fail("[quant] scheme '", name, "': ", scheme.bits,
         " bits is not supported (2, 3, 4, 5, 6 or 8: the widths MLX packs)");
  if (scheme.granularity == Granularity::PerGroup && !valid_group(scheme.group_size))
    fail("[quant] scheme '", name, "': group size ", scheme.group_size,
         " is not supported (32, 64 or 128: the sizes MLX kernels accept)");
}

bool scheme_fits(const QuantScheme& scheme, int64_t k) {
  if (k <= 0) return false;
  if (scheme.granularity == Granularity::PerGroup) return k % scheme.group_size == 0;
  return k % 32 == 0;
}

int storage_group(const QuantScheme& scheme, int64_t k) {
  if (!scheme_fits(scheme, k))
    fail("[quant] scheme '", format_scheme(scheme), "' does not fit rows of ", k, " weights");
  if (scheme.granularity == Granularity::PerGroup) return scheme.group_size;
  for (int group : {128, 64, 32})
    if (k % group == 0) return group;
  return 32;  // unreachable: scheme_fits checked k % 32
}

}  // namespace qp::quant
