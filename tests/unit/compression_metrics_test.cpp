// The compression metrics of one evaluation entry: each read from where the
// pipeline stores it, recovery computed from the three primary metrics.
#include "eval/compression_metrics.h"

#include <gtest/gtest.h>

namespace qp::eval {
namespace {

using nlohmann::json;

json entry(bool finetuned) {
  json e = {{"quantization", "ternary_g64"},
            {"dataset", "genre"},
            {"comparison",
             {{"baseline", {{"primary", 0.80}, {"model_size_mb", 90.0}}},
              {"quantized", {{"primary", 0.78}, {"model_size_mb", 20.0}}},
              {"fidelity", {{"mean_cosine", 0.99}, {"mse", 0.01}}},
              {"accuracy_drop_points", 2.0}}},
            {"conversion",
             {{"plan", {{"linear", "ternary_g64"}, {"method", "rtn"}, {"finetune", nullptr}}},
              {"sizes",
               {{"compression_ratio", 4.5},
                {"sparsity", 0.3},
                {"quantized_parameter_fraction", 0.9},
                {"linear_tensors_kept", 1}}},
              {"timings", {{"convert_seconds", 2.0}}},
              {"tensors", json::array({{{"shape", {4, 8}}}, {{"shape", {8}}}})}}}};
  if (finetuned) {
    e["conversion"]["plan"]["finetune"] = {{"epochs", 3}, {"final_loss", 0.05}, {"seconds", 100.0}};
    e["before_finetune"] = {{"quantized", {{"primary", 0.60}}},
                            {"fidelity", {{"mean_cosine", 0.7}, {"mse", 0.3}}},
                            {"accuracy_drop_points", 20.0}};
  }
  return e;
}

TEST(CompressionMetrics, NineteenFromTheEntry) {
  const json m = compression_metrics(entry(true));
  EXPECT_EQ(m["before_compression"]["parameters"], 40);
  EXPECT_EQ(m["before_compression"]["metric"], 0.80);
  EXPECT_EQ(m["compression"]["method"], "rtn+qat");
  EXPECT_EQ(m["compression"]["bits"], 1.58);
  EXPECT_EQ(m["compression"]["sparsity"], 0.3);
  EXPECT_EQ(m["compression"]["seconds"], 102.0);
  // After compression = as converted, before fine-tuning.
  EXPECT_EQ(m["after_compression"]["metric"], 0.60);
  EXPECT_EQ(m["after_compression"]["drop_points"], 20.0);
  EXPECT_EQ(m["after_compression"]["cosine"], 0.7);
  EXPECT_EQ(m["after_compression"]["size_mb"], 20.0);
  EXPECT_EQ(m["finetune"]["metric_after"], 0.78);
  EXPECT_NEAR(m["finetune"]["recovery"].get<double>(), (0.78 - 0.60) / (0.80 - 0.60), 1e-12);
  int count = 0;
  for (const char* group : {"before_compression", "compression", "after_compression", "finetune"})
    count += static_cast<int>(m[group].size());
  EXPECT_EQ(count, compression_metric_count());
  EXPECT_NE(m["summary"].get<std::string>().find("fine-tuned"), std::string::npos);
}

TEST(CompressionMetrics, WithoutFineTuningOrConversion) {
  const json m = compression_metrics(entry(false));
  EXPECT_TRUE(m["finetune"].is_null());
  EXPECT_EQ(m["after_compression"]["metric"], 0.78);
  EXPECT_EQ(m["compression"]["method"], "rtn");
  json bare = entry(false);
  bare.erase("conversion");
  const json n = compression_metrics(bare);
  EXPECT_TRUE(n["compression"]["bits"].is_null());
  EXPECT_TRUE(n["before_compression"]["parameters"].is_null());
  EXPECT_EQ(n["before_compression"]["metric"], 0.80);
}

}  // namespace
}  // namespace qp::eval
