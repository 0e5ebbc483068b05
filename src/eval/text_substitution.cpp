#include "eval/text_substitution.h"

#include <algorithm>

namespace qp::eval {

std::string substitute_chars(std::string_view text, std::span<const CharSubstitution> table) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto hit =
        std::find_if(table.begin(), table.end(), [c](const CharSubstitution& s) { return s.from == c; });
    if (hit == table.end())
      out += c;
    else
      out += hit->to;
  }
  return out;
}

}  // namespace qp::eval
