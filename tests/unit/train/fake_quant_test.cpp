// Fake quantization gives exactly the weights `convert` stores, and the
// trainable encoder's forward uses them (straight-through: the shadow value
// keeps its fp32 precision and receives the gradient).
#include "train/fake_quant.h"

#include <gtest/gtest.h>

#include "core/thread_pool.h"
#include "grad_check.h"
#include "quant/quantize_ref.h"
#include "test_paths.h"
#include "train/distillation.h"
#include "train/trainable_encoder.h"

namespace qp::train {
namespace {

TEST(TrainFakeQuant, EqualsConvertsDequantizedWeights) {
  const int n = 6, k = 64;
  const auto w = testing::random_values(n * k, 21);
  for (const char* name : {"ternary_g32", "ternary_ch", "q2_affine_g32", "q4_sym_g64", "q8_affine_ch"}) {
    ParameterSet set;
    Parameter& p = set.add("w", {n, k}, w, true);
    p.scheme = quant::parse_scheme(name);
    quant::QuantOptions options;
    options.ternary_threshold = 0.6f;
    fake_quantize(p, options);
    const std::vector<float> stored = quant::quantize_ref("w", w, n, k, *p.scheme, options).dequantize();
    ASSERT_EQ(p.quantized.size(), stored.size());
    for (size_t i = 0; i < stored.size(); ++i) ASSERT_FLOAT_EQ(p.quantized[i], stored[i]) << name << " " << i;
    EXPECT_EQ(p.value, w) << "the shadow value is left as it was";
    EXPECT_EQ(p.forward_value(), p.quantized.data());
  }
  ParameterSet set;
  Parameter& vector = set.add("b", {8}, std::vector<float>(8, 1.0f), false);
  vector.scheme = quant::parse_scheme("ternary_g32");
  EXPECT_THROW(fake_quantize(vector, {}), std::exception);
}

TEST(TrainFakeQuant, ForwardSeesQuantizedWeightsAndDistillsToZeroWithoutThem) {
  ThreadPool pool(2);
  const auto dir = test::source_dir() / "tests/golden/models/bert-tiny-cls";
  TrainableEncoder teacher = TrainableEncoder::load(dir), student = TrainableEncoder::load(dir);
  teacher.refresh(0.5f, pool);
  student.refresh(0.5f, pool);
  EncoderBatch batch;
  batch.input_ids = {2, 17, 40, 3, 2, 9, 3};
  batch.token_type_ids.assign(7, 0);
  batch.seq_offsets = {0, 4, 7};
  const ForwardPass t = teacher.forward(batch, pool);
  OutputGrads grads;
  const LossParts same =
      distillation_loss(student.forward(batch, pool), t, student.head(), student.head_width(), {}, grads);
  EXPECT_NEAR(same.total, 0.0, 1e-9);
  for (float g : grads.d_head) EXPECT_NEAR(g, 0.0f, 1e-7f);

  for (auto& p : student.parameters().all())
    if (p->shape.size() == 2 && p->name.find("encoder.layer") != std::string::npos)
      p->scheme = quant::parse_scheme("ternary_g32");
  student.refresh(0.5f, pool);
  const ForwardPass s = student.forward(batch, pool);
  const LossParts loss = distillation_loss(s, t, student.head(), student.head_width(), {}, grads);
  EXPECT_GT(loss.hidden, 1e-4);
  EXPECT_GT(loss.logits, 0.0);
  // Straight-through: the gradient lands on the shadow weights.
  student.parameters().zero_grads();
  student.backward(s, grads, pool);
  const Parameter* q = student.parameters().find("bert.encoder.layer.0.attention.self.query.weight");
  ASSERT_NE(q, nullptr);
  double sum = 0.0;
  for (float g : q->grad) sum += std::fabs(g);
  EXPECT_GT(sum, 0.0);
}

}  // namespace
}  // namespace qp::train
