// Bad input for `quantpipe convert`, through the CLI binary. Every failure must
// end with a non-zero exit, one clear error line naming the option or file and
// the problem, no crash, no output directory and no "<out>.tmp-*" leftover, and
// an earlier good output left exactly as it was. Also: --force, an interrupted
// run (SIGKILL), a full disk (ulimit -f) and --dry-run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "model_edit.h"
#include "models/tiny_model.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::contains;
using test::expect_clean_failure;
using test::run_cli;

// Names in `dir` that are staging or swap leftovers of an output ("<out>.tmp-*", "<out>.old-*").
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (contains(name, ".tmp-") || contains(name, ".old-")) names.push_back(name);
  }
  return names;
}

// Whether a stderr line is one of convert's per-tensor progress lines ("[ 12/105] …").
bool is_progress_line(const std::string& line) {
  const size_t slash = line.find('/');
  return line.rfind("[", 0) == 0 && slash != std::string::npos && slash < 6 &&
         line.find("] ") != std::string::npos;
}

// expect_clean_failure, with the progress lines of the tensors converted before the failure set aside.
void expect_convert_failure(CliResult r, std::initializer_list<std::string> parts) {
  std::string kept;
  for (const std::string& line : test::split_lines(r.err))
    if (!is_progress_line(line)) kept += line + "\n";
  r.err = kept;
  expect_clean_failure(r, parts);
}

// A tiny model directory (hidden 64 so every scheme's group fits) and a good
// conversion of it, made once per test in a fresh temporary directory.
class ConvertErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyBertSpec spec;
    spec.hidden = 64;
    spec.intermediate = 128;
    spec.num_labels = 2;
    write_tiny_bert(model(), spec);
  }

  fs::path model() const { return dir_.path() / "model"; }
  fs::path out() const { return dir_.path() / "out"; }
  fs::path good() const { return dir_.path() / "good"; }

  CliResult convert(std::vector<std::string> extra, const fs::path& out_dir) const {
    std::vector<std::string> args = {"convert", "--model", model().string(), "--out", out_dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }

  // Converts into good() and remembers its model.safetensors bytes.
  void make_good_output() {
    const CliResult r = convert({}, good());
    ASSERT_EQ(r.exit_code, 0) << r;
    good_bytes_ = test::read_bytes(good() / "model.safetensors");
    ASSERT_FALSE(good_bytes_.empty());
  }

  // The failed run left nothing: no out(), no staging leftovers, good() intact.
  void expect_nothing_written(const fs::path& out_dir) const {
    EXPECT_FALSE(fs::exists(out_dir)) << out_dir;
    EXPECT_EQ(leftovers(dir_.path()), std::vector<std::string>{});
    if (!good_bytes_.empty()) {
      EXPECT_EQ(test::read_bytes(good() / "model.safetensors"), good_bytes_);
    }
  }

  // Failing with `extra` options: one error line with every part, nothing written.
  void expect_refused(std::vector<std::string> extra, std::initializer_list<std::string> parts) {
    make_good_output();
    expect_convert_failure(convert(std::move(extra), out()), parts);
    expect_nothing_written(out());
  }

  // Rewrites the model's `name` tensor with `value` at element 5.
  void poison_weight(const std::string& name, float value) const {
    test::poison_tensor(model(), name, value);
  }

  test::TempDir dir_;
  std::string good_bytes_;
};

TEST_F(ConvertErrors, UnsupportedBitsIsRefused) { expect_refused({"--bits", "7"}, {"--bits", "7"}); }

TEST_F(ConvertErrors, UnsupportedGroupSizeIsRefused) {
  expect_refused({"--group-size", "48"}, {"--group-size", "48"});
}

TEST_F(ConvertErrors, UnknownSchemeIsRefused) {
  expect_refused({"--scheme", "foo"}, {"--scheme", "foo", "sym or affine"});
}

TEST_F(ConvertErrors, OverrideWithoutEqualsIsRefused) {
  expect_refused({"--override", "attention"}, {"--override", "attention", "REGEX=SCHEME"});
}

TEST_F(ConvertErrors, OverrideWithBadRegexIsRefused) {
  expect_refused({"--override", "query([=q8_sym_ch"}, {"--override", "query([", "regular expression"});
}

TEST_F(ConvertErrors, OverrideWithUnknownSchemeIsRefused) {
  expect_refused({"--override", "query=q4_fancy_g64"}, {"--override", "q4_fancy_g64"});
}

TEST_F(ConvertErrors, UnknownEmbeddingSchemeIsRefused) {
  expect_refused({"--embedding", "q9_affine_g64"}, {"--embedding", "q9_affine_g64"});
}

TEST_F(ConvertErrors, NanWeightIsRefusedNamingTheTensor) {
  make_good_output();
  const std::string tensor = "bert.encoder.layer.1.attention.self.key.weight";
  poison_weight(tensor, std::numeric_limits<float>::quiet_NaN());
  expect_convert_failure(convert({}, out()), {tensor, "NaN"});
  expect_nothing_written(out());
}

TEST_F(ConvertErrors, InfWeightIsRefusedNamingTheTensor) {
  make_good_output();
  const std::string tensor = "bert.encoder.layer.0.output.dense.weight";
  poison_weight(tensor, -std::numeric_limits<float>::infinity());
  expect_convert_failure(convert({}, out()), {tensor, "inf"});
  expect_nothing_written(out());
}

TEST_F(ConvertErrors, ExistingOutputNeedsForce) {
  make_good_output();
  const std::string before = test::read_bytes(good() / "model.safetensors");
  test::write_bytes(good() / "notes.txt", "mine");
  expect_clean_failure(convert({"--bits", "8"}, good()), {good().string(), "already exists", "--force"});
  EXPECT_EQ(test::read_bytes(good() / "model.safetensors"), before);
  EXPECT_EQ(test::read_bytes(good() / "notes.txt"), "mine");
  EXPECT_EQ(leftovers(dir_.path()), std::vector<std::string>{});

  const CliResult forced = convert({"--bits", "8", "--force"}, good());
  ASSERT_EQ(forced.exit_code, 0) << forced;
  EXPECT_NE(test::read_bytes(good() / "model.safetensors"), before);
  EXPECT_FALSE(fs::exists(good() / "notes.txt")) << "--force replaces the directory as a whole";
  EXPECT_EQ(leftovers(dir_.path()), std::vector<std::string>{});
}

TEST_F(ConvertErrors, OutputUnderARegularFileIsRefused) {
  make_good_output();
  test::write_bytes(dir_.path() / "plain", "not a directory");
  const fs::path out_dir = dir_.path() / "plain" / "out";
  expect_clean_failure(convert({}, out_dir), {(dir_.path() / "plain").string(), "not a directory"});
  EXPECT_EQ(test::read_bytes(dir_.path() / "plain"), "not a directory");
  expect_nothing_written(out());
}

TEST_F(ConvertErrors, MissingModelIsRefused) {
  const fs::path missing = dir_.path() / "no-such-model";
  expect_clean_failure(run_cli({"convert", "--model", missing.string(), "--out", out().string()}),
                       {missing.string()});
  expect_nothing_written(out());
}

// A bigger model whose conversion writes megabytes and takes a moment.
void write_larger_model(const fs::path& dir) {
  TinyBertSpec spec;
  spec.hidden = 256;
  spec.layers = 6;
  spec.heads = 4;
  spec.intermediate = 1024;
  spec.num_labels = 2;
  write_tiny_bert(dir, spec);
}

// A full disk, simulated with a file-size limit: writes fail with EFBIG
// (quantpipe ignores SIGXFSZ), the error is clean and nothing is left.
TEST_F(ConvertErrors, FullDiskFailsCleanly) {
  const fs::path larger = dir_.path() / "larger";
  write_larger_model(larger);
  const fs::path earlier = dir_.path() / "earlier";
  ASSERT_EQ(run_cli({"convert", "-m", larger.string(), "-o", earlier.string()}).exit_code, 0);
  const std::string before = test::read_bytes(earlier / "model.safetensors");
  ASSERT_GT(before.size(), 400u * 1024) << "the output must exceed the file-size limit";

  const std::string command = "ulimit -f 200; exec '" + test::quantpipe_binary().string() + "' convert -m '" +
                              larger.string() + "' -o '" + out().string() + "'";
  const CliResult r = test::run_program({"/bin/bash", "-c", command});
  expect_convert_failure(r, {"model.safetensors", "File too large"});
  expect_nothing_written(out());

  const std::string replace = "ulimit -f 200; exec '" + test::quantpipe_binary().string() + "' convert -m '" +
                              larger.string() + "' -o '" + earlier.string() + "' --force --bits 8";
  expect_convert_failure(test::run_program({"/bin/bash", "-c", replace}), {"File too large"});
  EXPECT_EQ(test::read_bytes(earlier / "model.safetensors"), before);
  EXPECT_EQ(leftovers(dir_.path()), std::vector<std::string>{});
}

// SIGKILL in the middle of a conversion that would replace a good output: the
// good output stays byte for byte. The killed process cannot remove its
// staging directory ("<out>.tmp-XXXXXX"); it is the only thing left, and a
// later conversion is not disturbed by it.
TEST_F(ConvertErrors, InterruptedConversionLeavesEarlierOutputIntact) {
  const fs::path larger = dir_.path() / "larger";
  write_larger_model(larger);
  const fs::path target = dir_.path() / "target";
  ASSERT_EQ(run_cli({"convert", "-m", larger.string(), "-o", target.string()}).exit_code, 0);
  const std::string before = test::read_bytes(target / "model.safetensors");
  const std::string config_before = test::read_bytes(target / "config.json");

  test::ChildProcess child({test::quantpipe_binary().string(), "convert", "-m", larger.string(), "-o",
                            target.string(), "--force", "--bits", "8", "--emit-fp16"});
  ASSERT_GT(child.pid(), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!contains(child.stderr_so_far(), "[  1/") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ASSERT_EQ(kill(child.pid(), SIGKILL), 0);
  const CliResult killed = child.wait();
  ASSERT_EQ(killed.term_signal, SIGKILL) << "the conversion ended before it could be interrupted:\n"
                                         << killed;

  EXPECT_EQ(test::read_bytes(target / "model.safetensors"), before);
  EXPECT_EQ(test::read_bytes(target / "config.json"), config_before);
  for (const std::string& name : leftovers(dir_.path()))
    EXPECT_EQ(name.rfind("target.tmp-", 0), 0u) << "unexpected leftover " << name;

  // A later run works despite the stale staging directory and replaces the output.
  const CliResult again =
      run_cli({"convert", "-m", larger.string(), "-o", target.string(), "--force", "--bits", "8"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_NE(test::read_bytes(target / "model.safetensors"), before);
  const SafetensorsFile converted(target / "model.safetensors");
  EXPECT_EQ(converted.find("bert.encoder.layer.5.output.dense.weight")->dtype, DType::U32);
}

TEST_F(ConvertErrors, DryRunWritesNothingAndShowsEveryTensorAndFallbacks) {
  const CliResult r = convert({"--dry-run", "--override", "classifier=q4_affine_g128"}, out());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(out()));
  EXPECT_EQ(leftovers(dir_.path()), std::vector<std::string>{});
  const SafetensorsFile source(model() / "model.safetensors");
  const std::vector<std::string> lines = test::split_lines(r.out);
  size_t rows = 0;
  for (const std::string& line : lines) rows += line.rfind("| ", 0) == 0 && !contains(line, "| tensor |");
  EXPECT_EQ(rows, source.tensors().size()) << r.out;
  for (const TensorView& t : source.tensors())
    EXPECT_TRUE(contains(r.out, "| " + t.name + " |")) << t.name << " has no row:\n" << r.out;
  bool classifier_fell_back = false;
  for (const std::string& line : lines)
    if (contains(line, "| classifier.weight |"))
      classifier_fell_back = contains(line, "fallback:") && contains(line, "q4_affine_g64");
  EXPECT_TRUE(classifier_fell_back) << r.out;
}

}  // namespace
}  // namespace qp
