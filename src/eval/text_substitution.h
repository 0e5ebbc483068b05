// Character-by-character text substitution, the one mechanism behind the
// report's escapers (Markdown table cells, HTML/SVG text): each keeps only
// its own table of what to replace.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace qp::eval {

struct CharSubstitution {
  char from;
  std::string_view to;
};

// `text` with every character found in `table` replaced by its `to`.
std::string substitute_chars(std::string_view text, std::span<const CharSubstitution> table);

}  // namespace qp::eval
