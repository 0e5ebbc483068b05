// The fast kernels (AVX-512 VNNI / AVX2, whichever this CPU has) against the
// scalar reference path on whole quantized models: same labels, output
// cosine ≥ 0.9999. The scalar path is slow, so the default run uses the first
// rows of each data set; QUANTPIPE_FULL_EVAL=1 runs all rows.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/cpu_isa.h"
#include "eval/datasets.h"
#include "eval/metrics.h"
#include "quant/convert.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

namespace fs = std::filesystem;

size_t row_limit(size_t subset) {
  const char* env = std::getenv("QUANTPIPE_FULL_EVAL");
  return env && std::string(env) == "1" ? SIZE_MAX : subset;
}

// Loads the model with the ISA capped at `isa` (kernels are chosen when layers are built).
Model load_with_isa(const fs::path& dir, Isa isa) {
  const Isa previous = active_isa();
  set_isa_cap(isa);
  Model model = Model::load(dir, {2});
  set_isa_cap(previous);
  return model;
}

struct AgreementCase {
  std::string model, data, scheme;
};

class FastPathAgreement : public ::testing::TestWithParam<AgreementCase> {};

TEST_P(FastPathAgreement, SameLabelsAndCosineVersusScalarReference) {
  const AgreementCase& c = GetParam();
  QP_REQUIRE_SHARED("models/" + c.model);
  if (detected_isa() == Isa::Scalar) GTEST_SKIP() << "this CPU has no SIMD path to compare";
  test::TempDir tmp;
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme(c.scheme);
  quant::convert_model(test::shared_dir() / "models" / c.model, tmp.path() / "q", options);

  const bool pairs = c.data == "mnli/dev_a.jsonl";
  auto examples =
      read_jsonl_dataset(test::shared_dir() / "data" / c.data,
                         pairs ? ColumnMapping{"premise", "hypothesis", "label"} : ColumnMapping{});
  examples.resize(std::min(examples.size(), row_limit(300)));
  std::vector<TextInput> inputs;
  for (const auto& e : examples) inputs.push_back(e.input);

  const Model fast = load_with_isa(tmp.path() / "q", detected_isa());
  const Model reference = load_with_isa(tmp.path() / "q", Isa::Scalar);
  const auto fast_out = fast.classify(inputs, {32, 0});
  const auto ref_out = reference.classify(inputs, {32, 0});
  size_t same = 0;
  double min_cos = 1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    same += fast_out[i].label == ref_out[i].label;
    min_cos = std::min(min_cos, cosine_similarity(fast_out[i].logits, ref_out[i].logits));
  }
  std::cout << "[ fastpath ] " << c.model << " " << c.scheme << " " << isa_name(detected_isa())
            << " vs scalar, n=" << inputs.size() << ": same labels " << same << "/" << inputs.size()
            << ", min cosine " << min_cos << "\n";
  EXPECT_EQ(same, inputs.size());
  EXPECT_GE(min_cos, 0.9999);
}

INSTANTIATE_TEST_SUITE_P(Models, FastPathAgreement,
                         ::testing::Values(AgreementCase{"minilm-l6-genre", "genre/dev_a.jsonl", "q8_sym_ch"},
                                           AgreementCase{"minilm-l6-genre", "genre/dev_a.jsonl",
                                                         "q4_affine_g64"},
                                           AgreementCase{"minilm-l6-nli", "mnli/dev_a.jsonl", "q8_sym_ch"},
                                           AgreementCase{"minilm-l6-nli", "mnli/dev_a.jsonl", "ternary_g64"}),
                         [](const auto& info) {
                           std::string name = info.param.model + "_" + info.param.scheme;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace qp
