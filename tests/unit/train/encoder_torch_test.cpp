// The trainable encoder's forward and every parameter's gradient against
// PyTorch autograd (tests/golden/train/make_train_golden.py: the layers are
// torch.nn.TransformerEncoderLayer, the batch padded and masked where the
// engine packs).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/thread_pool.h"
#include "test_paths.h"
#include "train/trainable_encoder.h"

namespace qp::train {
namespace {

nlohmann::json read_golden(const std::string& name) {
  std::ifstream in(test::source_dir() / "tests/golden/train" / (name + ".json"));
  return nlohmann::json::parse(in);
}

EncoderBatch batch_of(const nlohmann::json& golden) {
  EncoderBatch batch;
  for (const auto& s : golden["sequences"]) {
    const auto ids = s["input_ids"].get<std::vector<int32_t>>();
    auto types = s["token_type_ids"].get<std::vector<int32_t>>();
    if (types.empty()) types.assign(ids.size(), 0);
    batch.input_ids.insert(batch.input_ids.end(), ids.begin(), ids.end());
    batch.token_type_ids.insert(batch.token_type_ids.end(), types.begin(), types.end());
    batch.seq_offsets.push_back(static_cast<int32_t>(batch.input_ids.size()));
  }
  return batch;
}

class TrainTorchGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainTorchGolden, ForwardAndEveryGradientMatchAutograd) {
  const nlohmann::json golden = read_golden(GetParam());
  ThreadPool pool(2);
  TrainableEncoder model = TrainableEncoder::load(test::source_dir() / "tests/golden/models" / GetParam());
  model.refresh(0.5f, pool);
  const EncoderBatch batch = batch_of(golden);
  const ForwardPass pass = model.forward(batch, pool);

  const auto head = golden["head"].get<std::vector<float>>();
  ASSERT_EQ(pass.head_output().size(), head.size());
  for (size_t i = 0; i < head.size(); ++i) EXPECT_NEAR(pass.head_output()[i], head[i], 2e-5) << "head " << i;

  OutputGrads grads;
  grads.d_head = golden["r_head"].get<std::vector<float>>();
  grads.d_hidden_states.resize(2);
  for (const auto& rows : golden["r_hidden_layer0"]) {
    const auto r = rows.get<std::vector<float>>();
    grads.d_hidden_states[1].insert(grads.d_hidden_states[1].end(), r.begin(), r.end());
  }
  model.parameters().zero_grads();
  model.backward(pass, grads, pool);

  std::set<std::string> seen;
  for (const auto& [name, values] : golden["grads"].items()) {
    const Parameter* p = model.parameters().find(name);
    ASSERT_NE(p, nullptr) << "no parameter " << name;
    seen.insert(name);
    const auto want = values.get<std::vector<float>>();
    ASSERT_EQ(p->grad.size(), want.size()) << name;
    float scale = 0.0f;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(p->grad[i], want[i], 1e-5f + 2e-5f * scale) << name << "[" << i << "]";
  }
  for (const auto& p : model.parameters().all())
    EXPECT_TRUE(seen.count(p->name)) << p->name << " not in the golden";

  // A forward that keeps nothing for the backward (the teacher's) gives the
  // same outputs and hidden states, holds no intermediates, and refuses a backward.
  const ForwardPass light = model.forward(batch, pool, nullptr, false);
  EXPECT_EQ(light.head_output(), pass.head_output());
  for (int i = 0; i <= static_cast<int>(pass.layers.size()); ++i)
    EXPECT_EQ(light.hidden_state(i), pass.hidden_state(i));
  EXPECT_TRUE(light.layers[0].qkv.empty() && light.layers[0].probs.empty() && light.emb_sum.empty());
  EXPECT_THROW(model.backward(light, grads, pool), std::exception);
}

INSTANTIATE_TEST_SUITE_P(Models, TrainTorchGolden,
                         ::testing::Values("bert-tiny-cls", "roberta-tiny-cls", "bert-tiny-st"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace qp::train
