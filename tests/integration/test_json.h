// JSON files the integration tests read and write.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace qp::test {

// The parsed file; a discarded value (and a test failure) when it cannot be read.
inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in, nullptr, false);
}

// An oracle model's own inputs (reference_outputs.json: input_ids and
// attention_mask) as pre-tokenized calibration rows, {"input_ids": [...]} per line.
inline void write_oracle_calibration(const std::filesystem::path& oracle,
                                     const std::filesystem::path& out_file) {
  const nlohmann::json reference = read_json(oracle / "reference_outputs.json");
  std::ofstream out(out_file);
  for (size_t row = 0; row < reference["input_ids"].size(); ++row) {
    nlohmann::json ids = nlohmann::json::array();
    for (size_t i = 0; i < reference["input_ids"][row].size(); ++i)
      if (reference["attention_mask"][row][i] == 1) ids.push_back(reference["input_ids"][row][i]);
    out << nlohmann::json({{"input_ids", ids}}).dump() << "\n";
  }
}

}  // namespace qp::test
