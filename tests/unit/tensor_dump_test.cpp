// Every named intermediate reaches the dump, and the last layer's output in the
// file is exactly what encode() returned.
#include "io/tensor_dump.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/registry.h"
#include "test_paths.h"

namespace qp {
namespace {

TEST(TensorDump, WritesEveryNamedIntermediate) {
  const auto dir = test::source_dir() / "tests/golden/models/bert-tiny-cls";
  const ModelDir model_dir = read_model_dir(dir);
  const WeightStore weights = WeightStore::open_dir(dir);
  const auto encoder = create_encoder(model_dir, weights);
  ThreadPool pool(1);
  Encoding a{{2, 10, 11, 3}, {0, 0, 0, 0}, {}}, b{{2, 12, 3}, {0, 0, 0}, {}};
  const std::vector<Encoding> encodings = {a, b};
  const EncoderBatch batch = EncoderBatch::from_encodings(encodings);

  TensorDumpSink sink;
  sink.begin_pass();
  const std::vector<float> hidden = encoder->encode(batch, pool, &sink);
  encoder->classify(batch, hidden, pool, &sink);
  test::TempDir tmp;
  sink.write(tmp.path() / "dump.safetensors");

  const SafetensorsFile file(tmp.path() / "dump.safetensors");
  for (const char* name : {"batch0.embeddings.sum", "batch0.embeddings.norm", "batch0.layer.0.attn_qkv",
                           "batch0.layer.0.attn_context", "batch0.layer.0.attn_out",
                           "batch0.layer.0.attn_norm", "batch0.layer.0.ffn_up", "batch0.layer.0.ffn_down",
                           "batch0.layer.1.out", "batch0.pooler", "batch0.logits"})
    EXPECT_NE(file.find(name), nullptr) << name;
  const TensorView* last = file.find("batch0.layer.1.out");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->shape, (Shape{7, 32}));
  ASSERT_EQ(last->nbytes, hidden.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(last->data, hidden.data(), last->nbytes), 0);
}

}  // namespace
}  // namespace qp
