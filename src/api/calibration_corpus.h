// The general-text calibration corpus shipped with quantpipe (see
// calibration_corpus.cpp for what it holds and its licence).
#pragma once

#include <string>
#include <vector>

namespace qp {

// The corpus sentences, in order.
const std::vector<std::string>& calibration_corpus();

}  // namespace qp
