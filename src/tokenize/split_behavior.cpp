#include "tokenize/split_behavior.h"

#include <algorithm>

#include "core/error.h"

namespace qp::tok {

namespace {

struct NamedBehavior {
  const char* name;
  SplitBehavior behavior;
};
constexpr NamedBehavior kBehaviors[] = {{"Removed", SplitBehavior::Removed},
                                        {"Isolated", SplitBehavior::Isolated},
                                        {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
                                        {"MergedWithNext", SplitBehavior::MergedWithNext},
                                        {"Contiguous", SplitBehavior::Contiguous}};

struct Piece {
  Span span;
  bool matched;
};

}  // namespace

SplitBehavior parse_split_behavior(const JsonFields& spec, const std::string& key, SplitBehavior fallback) {
  if (!spec.has(key)) return fallback;
  const std::string name = spec.string(key);
  const auto* row = std::find_if(std::begin(kBehaviors), std::end(kBehaviors),
                                 [&](const NamedBehavior& b) { return name == b.name; });
  if (row == std::end(kBehaviors))
    spec.error(key, "is ", json_excerpt(name),
               ", expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
  return row->behavior;
}

void split_by_matches(Span span, const std::vector<Span>& matches, SplitBehavior behavior, bool invert,
                      std::vector<Span>& out) {
  // The span as alternating pieces, each flagged matched or not.
  std::vector<Piece> pieces;
  size_t prev = span.first;
  for (const Span& m : matches) {
    if (prev < m.first) pieces.push_back({{prev, m.first}, invert});
    pieces.push_back({m, !invert});
    prev = m.second;
  }
  if (prev < span.second) pieces.push_back({{prev, span.second}, invert});

  std::vector<Span> words;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Piece& p : pieces)
        if (!p.matched) words.push_back(p.span);
      break;
    case SplitBehavior::Isolated:
      for (const Piece& p : pieces) words.push_back(p.span);
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Piece& p : pieces) {
        if (p.matched && !previous_match && !words.empty())
          words.back().second = p.span.second;
        else
          words.push_back(p.span);
        previous_match = p.matched;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->matched && !previous_match && !words.empty())
          words.back().first = it->span.first;
        else
          words.push_back(it->span);
        previous_match = it->matched;
      }
      std::reverse(words.begin(), words.end());
      break;
    case SplitBehavior::Contiguous:
      for (const Piece& p : pieces) {
        if (p.matched == previous_match && !words.empty())
          words.back().second = p.span.second;
        else
          words.push_back(p.span);
        previous_match = p.matched;
      }
      break;
  }
  for (const Span& w : words)
    if (w.first < w.second) out.push_back(w);
}

}  // namespace qp::tok
