// llama.cpp's own verdict on quantpipe's GGUF files, in the default test run:
// tests/golden/gguf/llama_cpp_outputs.json holds what llama.cpp (PyPI
// llama-cpp-python) computed from two files quantpipe writes from the shared
// MiniLM models, with their sha256. This test writes the same files again (the
// bytes must be identical, else regenerate with scripts/gguf_llama_check.py
// --write-golden), reads them back through quantpipe and compares text by text.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "gguf/gguf_import.h"
#include "io/sha256_file.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp::test {
namespace {

namespace fs = std::filesystem;

double cosine(const std::vector<float>& a, const nlohmann::json& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double y = b[i].get<double>();
    dot += a[i] * y;
    na += double{a[i]} * a[i];
    nb += y * y;
  }
  return dot / std::sqrt(na * nb);
}

TEST(GgufLlamaGolden, LlamaCppComputesWhatQuantpipeDoesFromTheSameFile) {
  QP_REQUIRE_SHARED("models/minilm-l6-sts");
  QP_REQUIRE_SHARED("models/minilm-l6-genre");
  std::ifstream in(source_dir() / "tests/golden/gguf/llama_cpp_outputs.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  TempDir dir;
  ASSERT_FALSE(golden["files"].empty());
  for (const auto& [name, file] : golden["files"].items()) {
    const fs::path gguf = dir.path() / (name + ".gguf");
    std::vector<std::string> args = {
        "-q",       "convert",
        "-m",       (shared_dir() / "models" / file["model"].get<std::string>()).string(),
        "-o",       gguf.string(),
        "--format", "gguf"};
    for (const auto& a : file["convert_args"]) args.push_back(a.get<std::string>());
    const CliResult r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_EQ(sha256_hex(gguf), file["sha256"].get<std::string>())
        << name
        << ": the exporter now writes other bytes; check them with llama.cpp and regenerate the golden: "
        << "scripts/gguf_llama_check.py --quantpipe build/bin/quantpipe --write-golden "
           "tests/golden/gguf/llama_cpp_outputs.json";
    const Model model = Model::load(import_gguf(gguf, dir.path() / name, false).out, {.threads = 2});
    std::vector<TextInput> texts;
    for (const auto& t : file["texts"]) texts.push_back({t.get<std::string>()});
    const nlohmann::json& llama = file["llama_cpp"];
    ASSERT_EQ(llama.size(), texts.size());
    double worst = 1;
    if (file["kind"] == "embed") {
      const auto ours = model.embed(texts);
      for (size_t i = 0; i < texts.size(); ++i) worst = std::min(worst, cosine(ours[i], llama[i]));
    } else {
      const auto ours = model.classify(texts);
      for (size_t i = 0; i < texts.size(); ++i) {
        worst = std::min(worst, cosine(ours[i].logits, llama[i]));
        size_t best = 0;
        for (size_t j = 1; j < llama[i].size(); ++j)
          if (llama[i][j].get<double>() > llama[i][best].get<double>()) best = j;
        EXPECT_EQ(ours[i].label, model.labels()[best]) << name << " text " << i;
      }
    }
    EXPECT_GE(worst, 0.999) << name;
    std::cout << "[ gguf ] " << name << ": llama.cpp vs quantpipe, worst cosine over " << texts.size()
              << " texts " << worst << "\n";
  }
}

}  // namespace
}  // namespace qp::test
