// A batch over 256 tokens runs through the encoder in passes of whole
// sequences (Model::Impl::encode_in_passes): passes in parallel, one a thread,
// when there are two or more a thread, else one after another with each op
// split across the threads. Every path must give the bits of the batch run in
// one pass (a tensor sink forces that) and of each sequence run alone.
#include <gtest/gtest.h>

#include <vector>

#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

struct CountingSink final : TensorSink {
  int tensors = 0;
  void on_tensor(const std::string&, const float*, int64_t, int64_t) override { ++tensors; }
};

std::vector<Encoding> sequences(int count, int length, int vocab) {
  std::vector<Encoding> out(count);
  for (int s = 0; s < count; ++s) {
    const int len = length - s % 5;  // unequal lengths: passes end at different tokens
    for (int t = 0; t < len; ++t) {
      out[s].input_ids.push_back(t == 0 ? 2 : 5 + (s * 37 + t * 11) % (vocab - 5));
      out[s].token_type_ids.push_back(0);
    }
  }
  return out;
}

TEST(ModelPasses, EveryPassPlanGivesTheBitsOfOnePass) {
  test::TempDir tmp;
  TinyBertSpec spec;
  spec.num_labels = 2;
  write_tiny_bert(tmp.path() / "m", spec);
  Model model = Model::load(tmp.path() / "m", {.threads = 2});
  const int vocab = static_cast<int>(tiny_bert_vocab().size());
  // 80 sequences of 26–30 tokens: ~2,240 tokens, 9 passes (parallel with 2
  // threads); the first 20: ~560 tokens, 3 passes (one after another).
  const std::vector<Encoding> all = sequences(80, 30, vocab);
  for (const int count : {80, 20}) {
    const std::span<const Encoding> batch(all.data(), count);
    const auto passes = model.embed_encodings(batch, count);
    const auto passes_logits = model.logits_for_encodings(batch, count);
    const auto alone = model.embed_encodings(batch, 1);
    CountingSink sink;
    model.set_tensor_sink(&sink);
    const auto one_pass = model.embed_encodings(batch, count);
    const auto one_pass_logits = model.logits_for_encodings(batch, count);
    model.set_tensor_sink(nullptr);
    ASSERT_GT(sink.tensors, 0);  // the sink was called, so that run was one pass
    ASSERT_EQ(passes.size(), static_cast<size_t>(count));
    EXPECT_EQ(passes, one_pass) << count << " sequences";
    EXPECT_EQ(passes, alone) << count << " sequences";
    EXPECT_EQ(passes_logits, one_pass_logits) << count << " sequences";
  }
}

}  // namespace
}  // namespace qp
