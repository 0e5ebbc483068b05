// The optimizer against torch.optim.AdamW, clip_grad_norm_ and the linear
// warm-up / decay schedule (tests/golden/train/make_adamw_golden.py).
#include "train/adamw.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace qp::train {
namespace {

TEST(TrainAdamW, MatchesTorchStepByStep) {
  std::ifstream in(test::source_dir() / "tests/golden/train/adamw.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  ParameterSet parameters;
  auto initial_decayed = golden["initial"]["decayed"].get<std::vector<float>>();
  auto initial_plain = golden["initial"]["plain"].get<std::vector<float>>();
  Parameter& decayed = parameters.add("decayed", {12}, initial_decayed, true);
  Parameter& plain = parameters.add("plain", {5}, initial_plain, false);
  AdamWOptions options;
  options.lr = golden["lr"];
  options.warmup_steps = golden["warmup_steps"];
  options.total_steps = golden["total_steps"];
  options.weight_decay = golden["weight_decay"];
  options.max_grad_norm = golden["max_grad_norm"];
  AdamW adamw(parameters, options);
  ThreadPool pool(2);
  int step = 0;
  for (const auto& s : golden["steps"]) {
    decayed.grad = s["grad_decayed"].get<std::vector<float>>();
    plain.grad = s["grad_plain"].get<std::vector<float>>();
    EXPECT_NEAR(adamw.learning_rate(step), s["lr"].get<double>(), 1e-9) << "step " << step;
    EXPECT_NEAR(adamw.step(pool), s["norm"].get<double>(), 1e-5) << "step " << step;
    const auto want_decayed = s["decayed"].get<std::vector<float>>();
    const auto want_plain = s["plain"].get<std::vector<float>>();
    for (size_t i = 0; i < want_decayed.size(); ++i)
      EXPECT_NEAR(decayed.value[i], want_decayed[i], 2e-6) << "step " << step << " decayed[" << i << "]";
    for (size_t i = 0; i < want_plain.size(); ++i)
      EXPECT_NEAR(plain.value[i], want_plain[i], 2e-6) << "step " << step << " plain[" << i << "]";
    ++step;
  }
  EXPECT_EQ(adamw.steps_taken(), 6);
}

TEST(TrainAdamW, FrozenParametersStayAndBadOptionsAreRefused) {
  ParameterSet parameters;
  Parameter& frozen = parameters.add("frozen", {3}, {1.0f, 2.0f, 3.0f}, true);
  frozen.trainable = false;
  frozen.grad = {1.0f, 1.0f, 1.0f};
  AdamW adamw(parameters, {.lr = 0.1f});
  ThreadPool pool(1);
  adamw.step(pool);
  EXPECT_EQ(frozen.value, (std::vector<float>{1.0f, 2.0f, 3.0f}));
  EXPECT_THROW(AdamW(parameters, {.lr = 0.0f}), std::exception);
  EXPECT_THROW(parameters.add("frozen", {3}, {0.0f, 0.0f, 0.0f}, true), std::exception);
  EXPECT_THROW(parameters.add("short", {4}, {0.0f}, true), std::exception);
}

}  // namespace
}  // namespace qp::train
