// How Split-like pre-tokenizers keep what their pattern matched
// (Hugging Face's SplitDelimiterBehavior): Removed, Isolated, MergedWithPrevious,
// MergedWithNext, Contiguous.
#pragma once

#include <vector>

#include "core/json_fields.h"
#include "tokenize/regex.h"

namespace qp::tok {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Reads spec[key] ("Isolated", ...); throws naming the file for another value.
SplitBehavior parse_split_behavior(const JsonFields& spec, const std::string& key, SplitBehavior fallback);

// Cuts span into words given the matches inside it (sorted, non-overlapping),
// appending the non-empty words to out. invert: the matches are the words kept
// apart and the rest the delimiters.
void split_by_matches(Span span, const std::vector<Span>& matches, SplitBehavior behavior, bool invert,
                      std::vector<Span>& out);

}  // namespace qp::tok
