// What a YAML config file must pass before yaml-cpp builds it, checked on the
// parser's events (nothing is built, nothing expanded):
//  - one document: a second one ("---") would otherwise be dropped without a
//    word, with every model or dataset in it; counting stops at the second,
//    since yaml-cpp 0.7's LoadAll never returns on some malformed streams
//    (found by fuzz/pipeline_yaml_fuzz.cpp);
//  - nesting at most kMaxYamlDepth collections deep;
//  - at most kMaxYamlNodes nodes once aliases are expanded: a few lines of
//    anchors that alias each other ("billion laughs") would otherwise make
//    every walk of the tree take forever.
// Real pipeline configs are a few hundred nodes, five or six levels deep.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

namespace qp::pipeline {

inline constexpr int kMaxYamlDepth = 64;
inline constexpr uint64_t kMaxYamlNodes = 100000;

struct YamlStreamShape {
  int documents = 0;             // 0, 1, or 2 meaning "more than one"
  int second_document_line = 0;  // 1-based, when documents == 2
};

// Throws qp::Error "<file>:<line>: ..." when the depth or node limit is
// passed; YAML syntax errors propagate as YAML::ParserException.
YamlStreamShape check_yaml_stream(std::istream& in, const std::string& file);

}  // namespace qp::pipeline
