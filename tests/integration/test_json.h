// JSON files the integration tests read and write.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "quantpipe/types.h"

namespace qp::test {

// The parsed file; a discarded value (and a test failure) when it cannot be read.
inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in, nullptr, false);
}

// An oracle's batch (reference_outputs.json: input_ids and attention_mask),
// attended positions only, token types 0.
inline std::vector<Encoding> oracle_encodings(const nlohmann::json& reference) {
  std::vector<Encoding> out;
  for (size_t row = 0; row < reference["input_ids"].size(); ++row) {
    Encoding e;
    for (size_t i = 0; i < reference["input_ids"][row].size(); ++i)
      if (reference["attention_mask"][row][i] == 1) {
        e.input_ids.push_back(reference["input_ids"][row][i]);
        e.token_type_ids.push_back(0);
        e.attention_mask.push_back(1);
      }
    out.push_back(std::move(e));
  }
  return out;
}

// An oracle model's own inputs as pre-tokenized calibration rows,
// {"input_ids": [...]} per line.
inline void write_oracle_calibration(const std::filesystem::path& oracle,
                                     const std::filesystem::path& out_file) {
  std::ofstream out(out_file);
  for (const Encoding& e : oracle_encodings(read_json(oracle / "reference_outputs.json")))
    out << nlohmann::json({{"input_ids", e.input_ids}}).dump() << "\n";
}

}  // namespace qp::test
