// gtest parameter names may hold only letters, digits and '_': the names of
// models and architectures ("deberta-v2", "bert-tiny-cls") become
// "deberta_v2", "bert_tiny_cls".
#pragma once

#include <algorithm>
#include <string>

namespace qp::test {

inline std::string param_name(std::string text) {
  std::replace(text.begin(), text.end(), '-', '_');
  return text;
}

}  // namespace qp::test
