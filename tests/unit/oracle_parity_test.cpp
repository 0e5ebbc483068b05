// The fp32 engine against Hugging Face transformers' own modeling code: the
// tiny random models of ../shared/oracle/<arch>-tiny and their
// reference_outputs.json (a padded batch of three rows). Sequences run here
// packed without padding, so only attended positions are compared, as the
// oracle's README says; logits of every row within 1e-4. Where padding changes
// what Hugging Face computes at attended positions (MobileBERT's trigram
// embedding sees the [PAD] after a row's last token), the oracle also holds
// `unpadded_rows`, each row run alone: those are what an unpadded engine must match.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/convert.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/registry.h"
#include "param_name.h"
#include "test_paths.h"

namespace qp {
namespace {

constexpr float kTolerance = 1e-4f;

struct OracleBatch {
  std::vector<Encoding> encodings;  // attended positions only
  nlohmann::json reference;
};

OracleBatch read_oracle(const std::filesystem::path& dir) {
  std::ifstream in(dir / "reference_outputs.json");
  OracleBatch batch{{}, nlohmann::json::parse(in)};
  const auto& ref = batch.reference;
  for (size_t row = 0; row < ref["input_ids"].size(); ++row) {
    Encoding e;
    for (size_t t = 0; t < ref["input_ids"][row].size(); ++t) {
      if (ref["attention_mask"][row][t] == 0) continue;
      e.input_ids.push_back(ref["input_ids"][row][t]);
      e.token_type_ids.push_back(ref.contains("token_type_ids") ? ref["token_type_ids"][row][t].get<int>()
                                                                : 0);
    }
    batch.encodings.push_back(e);
  }
  return batch;
}

// Last hidden state and logits of the model in `dir` on the oracle's rows.
struct Outputs {
  std::vector<float> hidden, logits;
  int width = 0;
};

Outputs run_model(const std::filesystem::path& dir, const OracleBatch& oracle) {
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(read_model_dir(dir), weights);
  ThreadPool pool(2);
  const EncoderBatch batch = EncoderBatch::from_encodings(oracle.encodings);
  Outputs out;
  out.hidden = encoder->encode(batch, pool);
  out.logits = encoder->classify(batch, out.hidden, pool);
  out.width = encoder->info().hidden_size;
  return out;
}

// The worst cosine between matching rows of two [rows × width] matrices.
double worst_row_cosine(const std::vector<float>& a, const std::vector<float>& b, int width) {
  double worst = 1.0;
  for (size_t r = 0; r * width < a.size(); ++r) {
    double dot = 0, na = 0, nb = 0;
    for (int c = 0; c < width; ++c) {
      const double x = a[r * width + c], y = b[r * width + c];
      dot += x * y, na += x * x, nb += y * y;
    }
    worst = std::min(worst, dot / std::sqrt(na * nb));
  }
  return worst;
}

// Row `row` of the reference's `key` ("last_hidden_state", "logits", …): the
// row run alone when the file has unpadded_rows (MobileBERT: Hugging Face's
// own output depends on the padding), else the padded batch's row.
const nlohmann::json& reference_row(const nlohmann::json& reference, const std::string& key, size_t row) {
  if (reference.contains("unpadded_rows")) return reference["unpadded_rows"][row][key];
  return reference[key][row];
}

// The attended positions of the reference's `key` [rows × positions × width]
// against packed states, within the tolerance; prints the worst |Δ|.
void expect_states_match(const nlohmann::json& reference, const std::string& key,
                         const std::vector<float>& actual, const EncoderBatch& batch, int width,
                         const std::string& what) {
  float worst_of_all = 0;
  for (int s = 0; s < batch.num_sequences(); ++s) {
    const nlohmann::json& expected = reference_row(reference, key, static_cast<size_t>(s));
    float worst = 0;
    for (int t = 0; t < batch.length(s); ++t)
      for (int c = 0; c < width; ++c)
        worst = std::max(worst, std::fabs(actual[static_cast<size_t>(batch.seq_offsets[s] + t) * width + c] -
                                          expected[t][c].get<float>()));
    EXPECT_LT(worst, kTolerance) << what << " row " << s;
    worst_of_all = std::max(worst_of_all, worst);
  }
  std::printf("[ parity ] %s: max |d| %.3g%s\n", what.c_str(), worst_of_all,
              reference.contains("unpadded_rows") ? " (vs unpadded_rows)" : "");
}

// Keeps the encoder's last hidden state of an encoder-decoder model.
struct EncoderStateSink final : TensorSink {
  std::vector<float> values;
  void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) override {
    if (name == "encoder.last_hidden_state") values.assign(data, data + rows * cols);
  }
};

class OracleParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OracleParity, Fp32MatchesTransformers) {
  const std::string relative = "oracle/" + GetParam() + "-tiny";
  QP_REQUIRE_SHARED(relative);
  const std::filesystem::path dir = test::shared_dir() / relative;
  const OracleBatch oracle = read_oracle(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(read_model_dir(dir), weights);
  ThreadPool pool(2);
  const EncoderBatch batch = EncoderBatch::from_encodings(oracle.encodings);
  EncoderStateSink encoder_state;
  const std::vector<float> hidden = encoder->encode(batch, pool, &encoder_state);
  const int width = encoder->info().hidden_size;
  expect_states_match(oracle.reference, "last_hidden_state", hidden, batch, width,
                      GetParam() + " last_hidden_state");
  // Encoder-decoder models (BART): encode() gives the decoder's state, as
  // Hugging Face's last_hidden_state; the encoder's goes to the sink.
  if (oracle.reference.contains("encoder_last_hidden_state")) {
    ASSERT_FALSE(encoder_state.values.empty()) << GetParam() << " reports no encoder.last_hidden_state";
    expect_states_match(oracle.reference, "encoder_last_hidden_state", encoder_state.values, batch, width,
                        GetParam() + " encoder_last_hidden_state");
  }
  const std::vector<float> logits = encoder->classify(batch, hidden, pool);
  const size_t rows = oracle.encodings.size(), labels = reference_row(oracle.reference, "logits", 0).size();
  ASSERT_EQ(logits.size(), rows * labels);
  double worst_logit = 0;
  for (size_t s = 0; s < rows; ++s)
    for (size_t j = 0; j < labels; ++j) {
      const double expected = reference_row(oracle.reference, "logits", s)[j].get<float>();
      EXPECT_NEAR(logits[s * labels + j], expected, kTolerance)
          << GetParam() << " row " << s << " logit " << j;
      worst_logit = std::max(worst_logit, std::fabs(logits[s * labels + j] - expected));
    }
  std::printf("[ parity ] %s logits: max |d| %.3g\n", GetParam().c_str(), worst_logit);
}

// Each format's error budget on these tiny random models, two ways:
// - against fp32: the worst cosine between a token's quantized and fp32 last
//   hidden state, and the largest logit difference as a fraction of the fp32
//   logits' spread (max - min). This is the format's own loss: random weights
//   are the worst case for ternary, which keeps little of them (issue 18
//   fine-tunes models for it), so its bound only says "not broken";
// - against the same dequantized weights run in fp32 (the conversion's fp16
//   dual output): what the quantized kernels add (per-token int8
//   activations), which must stay small for every format.
// Measured with every architecture (see the closing note of issue 14); the
// bounds leave about 2x room. Run on every ISA path by the ctest entries
// parity_with_isa_*.
struct FormatBudget {
  const char* scheme;
  double min_cosine;          // vs fp32
  double max_logit_fraction;  // vs fp32
  double min_kernel_cosine;   // vs the dequantized weights in fp32
};
constexpr FormatBudget kBudgets[] = {
    {"q8_affine_g64", 0.9995, 0.04, 0.9995},
    {"q4_affine_g32", 0.96, 0.35, 0.9995},
    {"ternary_g32", 0.2, 1.8, 0.999},
};

// Architectures whose budgets differ from a format's, with why. MobileBERT
// has no normalisation (NoNorm keeps the scale of every residual sum), so its
// hidden states grow to |x| ~ 25 and per-token int8 activations of them lose
// more: measured q8 0.99756 / kernel 0.99934, q4 0.91091 / kernel 0.99847
// (about 2x room in 1 - cosine).
struct BudgetOverride {
  const char* arch;
  const char* scheme;
  double min_cosine, min_kernel_cosine;
};
constexpr BudgetOverride kOverrides[] = {
    {"mobilebert", "q8_affine_g64", 0.995, 0.9985},
    {"mobilebert", "q4_affine_g32", 0.82, 0.996},
};

FormatBudget budget_for(const std::string& arch, FormatBudget budget) {
  for (const BudgetOverride& o : kOverrides)
    if (arch == o.arch && std::string(budget.scheme) == o.scheme) {
      budget.min_cosine = o.min_cosine;
      budget.min_kernel_cosine = o.min_kernel_cosine;
    }
  return budget;
}

// Models without token type embeddings (transformers passes them none) run a
// pair whose second segment a post-processor numbered 1 exactly as the
// oracle's untyped rows: the engine ignores the numbers instead of refusing them.
TEST(OracleTokenTypes, IgnoredByModelsWithoutTypeEmbeddings) {
  for (const std::string arch : {"mpnet", "distilbert", "modernbert"}) {
    const auto dir = test::shared_dir() / "oracle" / (arch + "-tiny");
    if (!std::filesystem::exists(dir)) GTEST_SKIP() << "../shared/oracle/" << arch << "-tiny is absent";
    OracleBatch oracle = read_oracle(dir);
    ASSERT_FALSE(oracle.reference.contains("token_type_ids")) << arch;
    for (Encoding& e : oracle.encodings)
      std::fill(e.token_type_ids.begin() + static_cast<std::ptrdiff_t>(e.token_type_ids.size() / 2),
                e.token_type_ids.end(), 1);
    const Outputs out = run_model(dir, oracle);
    const EncoderBatch batch = EncoderBatch::from_encodings(oracle.encodings);
    expect_states_match(oracle.reference, "last_hidden_state", out.hidden, batch, out.width,
                        arch + " with segment 1");
  }
}

class OracleQuantized : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(OracleQuantized, StaysWithinTheFormatsBudgetOfFp32) {
  const auto& [arch, budget_index] = GetParam();
  const FormatBudget budget = budget_for(arch, kBudgets[budget_index]);
  const std::string relative = "oracle/" + arch + "-tiny";
  QP_REQUIRE_SHARED(relative);
  const std::filesystem::path dir = test::shared_dir() / relative;
  test::TempDir tmp;
  quant::ConvertOptions options;
  options.plan.linear = quant::parse_scheme(budget.scheme);
  options.plan.embedding = quant::parse_scheme("q8_affine_g32");
  options.emit_fp16 = true;
  convert(dir, tmp.path() / "q", options);
  const OracleBatch oracle = read_oracle(dir);
  const Outputs fp32 = run_model(dir, oracle), quantized = run_model(tmp.path() / "q", oracle);
  const Outputs dequantized = run_model(tmp.path() / "q" / "fp16", oracle);
  const double kernel_cosine = worst_row_cosine(quantized.hidden, dequantized.hidden, fp32.width);
  const double cosine = worst_row_cosine(quantized.hidden, fp32.hidden, fp32.width);
  const auto [lo, hi] = std::minmax_element(fp32.logits.begin(), fp32.logits.end());
  double worst_logit = 0;
  for (size_t i = 0; i < fp32.logits.size(); ++i)
    worst_logit = std::max(worst_logit, static_cast<double>(std::fabs(quantized.logits[i] - fp32.logits[i])));
  const double fraction = worst_logit / (*hi - *lo);
  std::printf(
      "[ budget ] %-12s %-14s vs fp32: worst token cosine %.5f, worst logit |d| %.4f = %.3f of the spread; "
      "vs its dequantized weights: %.6f\n",
      arch.c_str(), budget.scheme, cosine, worst_logit, fraction, kernel_cosine);
  EXPECT_GE(cosine, budget.min_cosine) << arch << " " << budget.scheme;
  EXPECT_LE(fraction, budget.max_logit_fraction) << arch << " " << budget.scheme;
  EXPECT_GE(kernel_cosine, budget.min_kernel_cosine) << arch << " " << budget.scheme;
}

INSTANTIATE_TEST_SUITE_P(ArchitecturesAndFormats, OracleQuantized,
                         ::testing::Combine(::testing::Values("bert", "distilbert", "roberta", "xlm-roberta",
                                                              "electra", "deberta-v2", "mpnet", "modernbert",
                                                              "mobilebert", "bart"),
                                            ::testing::Range(0, 3)),
                         [](const auto& info) {
                           return qp::test::param_name(std::get<0>(info.param) + "_" +
                                                       kBudgets[std::get<1>(info.param)].scheme);
                         });

INSTANTIATE_TEST_SUITE_P(Architectures, OracleParity,
                         ::testing::Values("bert", "distilbert", "roberta", "xlm-roberta", "electra",
                                           "deberta-v2", "mpnet", "modernbert", "mobilebert", "bart"),
                         [](const auto& info) { return qp::test::param_name(info.param); });

}  // namespace
}  // namespace qp
