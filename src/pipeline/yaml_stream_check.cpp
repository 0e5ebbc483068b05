#include "pipeline/yaml_stream_check.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace qp::pipeline {
namespace {

// Counts documents, depth and expanded nodes from the parser's events. An
// anchored node's expanded size is remembered, so an alias to it adds that
// many nodes, as walking the built tree would visit them.
class StreamChecker : public YAML::EventHandler {
 public:
  explicit StreamChecker(const std::string& file) : file_(file) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++shape.documents;
    if (shape.documents == 2) shape.second_document_line = mark.line + 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

  YamlStreamShape shape;

 private:
  struct Open {
    YAML::anchor_t anchor;
    uint64_t nodes_before;
  };

  void add(const YAML::Mark& mark, uint64_t nodes) {
    nodes_ = std::min(nodes_ + nodes, kMaxYamlNodes + 1);  // saturates: no overflow
    if (nodes_ > kMaxYamlNodes)
      fail(file_, ":", mark.line + 1, ": more than ", kMaxYamlNodes,
           " YAML nodes once aliases are expanded (anchors that alias each other?); a pipeline config "
           "is far smaller");
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (anchor != YAML::NullAnchor) sizes_[anchor] = 1;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (open_.size() >= static_cast<size_t>(kMaxYamlDepth))
      fail(file_, ":", mark.line + 1, ": YAML nested more than ", kMaxYamlDepth, " levels deep");
    open_.push_back({anchor, nodes_ - 1});
  }
  void close() {
    if (open_.empty()) return;
    const Open done = open_.back();
    open_.pop_back();
    if (done.anchor != YAML::NullAnchor) sizes_[done.anchor] = nodes_ - done.nodes_before;
  }

  const std::string& file_;
  uint64_t nodes_ = 0;
  std::vector<Open> open_;
  std::unordered_map<YAML::anchor_t, uint64_t> sizes_;
};

}  // namespace

YamlStreamShape check_yaml_stream(std::istream& in, const std::string& file) {
  YAML::Parser parser(in);
  StreamChecker checker(file);
  while (checker.shape.documents < 2 && parser.HandleNextDocument(checker)) {
  }
  return checker.shape;
}

}  // namespace qp::pipeline
