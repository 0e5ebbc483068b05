// One qp::Model shared by many threads (issue 11, item 1): 8 threads × 200
// calls with distinct texts, every result equal to the single-threaded one.
// Before ThreadPool::parallel_for took turns, two concurrent embed() calls
// crashed or hung.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "models/tiny_model.h"
#include "quantpipe/model.h"
#include "test_paths.h"

namespace qp {
namespace {

TEST(ModelThreads, ManyThreadsShareOneModel) {
  test::TempDir tmp;
  TinyBertSpec spec;
  spec.num_labels = 3;
  write_tiny_bert(tmp.path() / "m", spec);
  const Model model = Model::load(tmp.path() / "m", {.threads = 2});  // a real pool, shared by the callers

  constexpr int kThreads = 8, kCalls = 200;
  const std::vector<std::string>& words = tiny_bert_vocab();
  auto text_for = [&](int thread, int call) {
    std::string text;
    for (int w = 0; w < 3 + (thread + call) % 6; ++w)
      text += words[(thread * 131 + call * 17 + w * 7) % words.size()] + " ";
    return text;
  };
  // The expected results, one caller at a time.
  std::vector<std::vector<std::vector<float>>> expected_embeddings(kThreads);
  std::vector<std::vector<std::vector<float>>> expected_logits(kThreads);
  for (int t = 0; t < kThreads; ++t)
    for (int c = 0; c < kCalls; ++c) {
      expected_embeddings[t].push_back(model.embed({{text_for(t, c)}})[0]);
      expected_logits[t].push_back(model.classify({{text_for(t, c)}})[0].logits);
    }

  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int c = 0; c < kCalls; ++c) {
          if (c % 2 == 0) {
            if (model.embed({{text_for(t, c)}})[0] != expected_embeddings[t][c]) ++mismatches;
          } else {
            if (model.classify({{text_for(t, c)}})[0].logits != expected_logits[t][c]) ++mismatches;
          }
        }
      } catch (...) {
        ++errors;
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace qp
