// The fixture the CLI tests share: two tiny generated models made once per
// suite (a sentence-transformers embedder and a classifier with kTinyLabels
// labels) and a fresh temporary directory per test for inputs and outputs.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "models/tiny_model.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace qp::test {

inline constexpr int kTinyLabels = 3;

class TinyModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    models_ = std::make_unique<TempDir>();
    write_tiny_bert(embed_model(), {.sentence_transformer = true});
    write_tiny_bert(classify_model(), {.num_labels = kTinyLabels});
  }
  static void TearDownTestSuite() { models_.reset(); }

  static std::filesystem::path models_dir() { return models_->path(); }
  static std::filesystem::path embed_model() { return models_->path() / "embed"; }
  static std::filesystem::path classify_model() { return models_->path() / "classify"; }

  std::filesystem::path write_file(const std::string& name, const std::string& content) const {
    const std::filesystem::path path = tmp_.path() / name;
    write_bytes(path, content);
    return path;
  }

  TempDir tmp_;
  static inline std::unique_ptr<TempDir> models_;
};

}  // namespace qp::test
