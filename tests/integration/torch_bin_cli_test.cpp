// The CLI on pytorch_model.bin models: classify, embed and convert give exactly
// what they give on the safetensors twin, and a malicious .bin is one clean
// error with nothing run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "models/tiny_model.h"
#include "param_name.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::contains;
using test::run_cli;

fs::path golden() { return test::source_dir() / "tests/golden"; }

// A copy of a golden model directory with a WordPiece vocabulary of its 100 ids.
fs::path with_vocab(const fs::path& source, const fs::path& dest) {
  fs::create_directories(dest);
  for (const auto& entry : fs::directory_iterator(source))
    if (entry.path().filename() != "golden.json") fs::copy(entry.path(), dest / entry.path().filename());
  std::string vocab;
  for (int i = 0; i < 100; ++i) vocab += tiny_bert_vocab()[i] + "\n";
  test::write_bytes(dest / "vocab.txt", vocab);
  return dest;
}

const char* const kInput =
    "{\"text\": \"the cat sat on the mat\"}\n"
    "{\"text\": \"hello\", \"text_pair\": \"world\"}\n"
    "{\"text\": \"a b c d e f g\"}\n";

struct Twin {
  const char* bin;
  const char* safetensors;
};

class TorchBinCli : public ::testing::TestWithParam<Twin> {
 protected:
  void SetUp() override {
    bin_ = with_vocab(golden() / "torch_bin" / GetParam().bin, tmp_.path() / "bin");
    st_ = with_vocab(golden() / "models" / GetParam().safetensors, tmp_.path() / "st");
    input_ = tmp_.path() / "in.jsonl";
    test::write_bytes(input_, kInput);
  }
  std::string output(const std::string& command, const fs::path& model) const {
    const CliResult r = run_cli({command, "-m", model.string(), "-i", input_.string()});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(test::split_lines(r.out).size(), 3u) << r;
    return r.out;
  }
  test::TempDir tmp_;
  fs::path bin_, st_, input_;
};

TEST_P(TorchBinCli, ClassifyAndEmbedMatchTheSafetensorsTwin) {
  EXPECT_EQ(output("classify", bin_), output("classify", st_));
  EXPECT_EQ(output("embed", bin_), output("embed", st_));
}

TEST_P(TorchBinCli, ConvertedModelClassifiesLikeTheConvertedTwin) {
  for (const fs::path& model : {bin_, st_}) {
    const CliResult r =
        run_cli({"convert", "-m", model.string(), "-o", (model.string() + "-q4"), "--bits", "4"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  EXPECT_EQ(output("classify", bin_.string() + "-q4"), output("classify", st_.string() + "-q4"));
}

INSTANTIATE_TEST_SUITE_P(Models, TorchBinCli,
                         ::testing::Values(Twin{"bert-tiny-cls", "bert-tiny-cls"},
                                           Twin{"bert-tiny-cls-f16", "bert-tiny-cls-f16"},
                                           Twin{"bert-tiny-cls-bf16", "bert-tiny-cls-bf16"},
                                           Twin{"bert-tiny-cls-sharded", "bert-tiny-cls"}),
                         [](const auto& info) { return qp::test::param_name(info.param.bin); });

// Same tensors in, same bytes out: the converted weights of the F32 .bin and
// its safetensors twin are identical files.
TEST(TorchBinConvert, SameQuantizedWeightsAsTheSafetensorsTwin) {
  test::TempDir tmp;
  const fs::path bin = with_vocab(golden() / "torch_bin/bert-tiny-cls", tmp.path() / "bin");
  const fs::path st = with_vocab(golden() / "models/bert-tiny-cls", tmp.path() / "st");
  for (const fs::path& model : {bin, st})
    ASSERT_EQ(run_cli({"convert", "-m", model.string(), "-o", model.string() + "-q8"}).exit_code, 0);
  EXPECT_EQ(test::read_bytes(bin.string() + "-q8/model.safetensors"),
            test::read_bytes(st.string() + "-q8/model.safetensors"));
  EXPECT_EQ(test::read_bytes(bin.string() + "-q8/config.json"),
            test::read_bytes(st.string() + "-q8/config.json"));
}

TEST(TorchBinConvert, MaliciousBinIsOneCleanErrorAndRunsNothing) {
  const fs::path marker = "/tmp/quantpipe-pickle-payload-ran";
  fs::remove(marker);
  test::TempDir tmp;
  const fs::path model = with_vocab(golden() / "torch_bin/bert-tiny-cls", tmp.path() / "m");
  fs::copy_file(golden() / "torch_bin/malicious/nested_reduce.bin", model / "pytorch_model.bin",
                fs::copy_options::overwrite_existing);
  for (const char* command : {"convert", "classify"}) {
    std::vector<std::string> args = {command, "-m", model.string()};
    if (std::string(command) == "convert")
      args.insert(args.end(), {"-o", (tmp.path() / "out").string()});
    else
      args.insert(args.end(), {"-i", "/dev/null"});
    test::expect_clean_failure(run_cli(args), {"refusing global 'builtins.exec'", "pytorch_model.bin"});
  }
  EXPECT_FALSE(fs::exists(marker)) << "the payload ran";
  EXPECT_FALSE(fs::exists(tmp.path() / "out"));
}

}  // namespace
}  // namespace qp

namespace qp {
namespace {

TEST(TorchBinInspect, ListsTheTensorsOfAPytorchModelBinDirectory) {
  const fs::path dir = test::source_dir() / "tests/golden/torch_bin/bert-tiny-cls";
  const CliResult r = run_cli({"inspect", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "| classifier.weight | head | F32 | [3, 32] |")) << r;
  EXPECT_TRUE(
      contains(r.out, "| bert.encoder.layer.0.attention.self.query.weight | attn_q | F32 | [32, 32] |"))
      << r;
  EXPECT_TRUE(contains(r.out, "41 stored tensors")) << r;
}

TEST(Inspect, UnexpectedQuantpipeJsonContentIsNotATypeError) {
  test::TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  write_tiny_bert(dir, {});
  std::ofstream(dir / "quantpipe.json")
      << R"({"format_version": 1, "tool": 3, "tensors": [{"name": 7, "error": {"cosine": "high"}}, 5]})";
  const CliResult r = run_cli({"inspect", dir.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "| - | - | nan |")) << r;
  std::ofstream(dir / "quantpipe.json") << R"({"format_version": 1, "tool": 1, "tool": 2})";
  const CliResult dup = run_cli({"inspect", dir.string()});
  EXPECT_EQ(dup.exit_code, 1) << dup;
  EXPECT_TRUE(contains(dup.err, "quantpipe.json: key \"tool\" appears twice")) << dup;
}

}  // namespace
}  // namespace qp
