// A model whose output overflows (finite weights, non-finite results): the
// CLI writes such rows as null with no label and exits 1 naming the input
// line, instead of printing a plausible label with exit 0 (issue 10, item 5).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "model_edit.h"
#include "models/tiny_model.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

// Sets every value of the F32 tensor `name` to value.
void fill_tensor(const fs::path& dir, const std::string& name, float value) {
  test::edit_tensors(dir, [&](test::EditableTensor& t) {
    if (t.name != name) return;
    for (size_t i = 0; i < t.bytes.size(); i += sizeof(float))
      std::memcpy(t.bytes.data() + i, &value, sizeof value);
  });
}

class CliNonFinite : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyBertSpec spec;
    spec.num_labels = 2;
    write_tiny_bert(model_, spec);
    std::ofstream(input_) << "{\"text\": \"the cat sat\"}\n{\"text\": \"a dog ran in the park\"}\n";
  }
  test::TempDir tmp_;
  fs::path model_ = tmp_.path() / "m";
  fs::path input_ = tmp_.path() / "in.jsonl";
};

TEST_F(CliNonFinite, OverflowingLogitsGiveNoLabelAndExitOne) {
  fill_tensor(model_, "classifier.weight", 3e38f);  // finite weights whose logits overflow:
  fill_tensor(model_, "classifier.bias", 3e38f);    // ~3e38 from the weights + 3e38 > FLT_MAX
  const test::CliResult r = run_cli({"classify", "--model", model_.string(), "--input", input_.string()});
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 1) << r;
  const std::vector<std::string> rows = test::split_lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r;
  for (const std::string& row : rows) EXPECT_TRUE(nlohmann::json::parse(row)["label"].is_null()) << row;
  const std::vector<std::string> errors = test::error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r;
  EXPECT_TRUE(test::contains(
      errors[0], input_.string() + ": 2 of 2 results hold NaN or infinite values (first at line 1)"))
      << errors[0];
}

TEST_F(CliNonFinite, OverflowingEmbeddingsExitOne) {
  fill_tensor(model_, "bert.encoder.layer.1.output.LayerNorm.bias", 3e38f);  // mean pooling overflows
  const test::CliResult r = run_cli({"embed", "--model", model_.string(), "--input", input_.string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(test::contains(r.err, "results hold NaN or infinite values")) << r;
}

TEST_F(CliNonFinite, FiniteOutputStillExitsZero) {
  const test::CliResult r = run_cli({"classify", "--model", model_.string(), "--input", input_.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  for (const std::string& row : test::split_lines(r.out))
    EXPECT_TRUE(nlohmann::json::parse(row)["label"].is_string()) << row;
}

}  // namespace
}  // namespace qp
