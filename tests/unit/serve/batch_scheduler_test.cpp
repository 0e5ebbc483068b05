// The dynamic batching scheduler on tiny models: every request gets its own
// rows back whatever it was batched with, a full queue refuses (429), and
// stopping finishes what was queued. A tensor sink that holds the first
// forward pass makes the queue states deterministic.
#include "serve/batch_scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <random>
#include <thread>

#include "gate_sink.h"
#include "io_test_util.h"
#include "models/tiny_model.h"
#include "serve/request_error.h"
#include "test_paths.h"

namespace qp::serve {
namespace {

using test::GateSink;
using test::TempDir;

class BatchSchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    write_tiny_bert(dir_->path() / "classify", {.num_labels = 3});
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static Model load() { return Model::load(dir_->path() / "classify", {.threads = 2}); }

  // n encodings of random lengths 3..40 with ids from the tiny vocabulary.
  static std::vector<Encoding> random_encodings(std::mt19937& rng, int n) {
    std::vector<Encoding> out;
    for (int i = 0; i < n; ++i) {
      const int length = std::uniform_int_distribution<int>(3, 40)(rng);
      Encoding e;
      for (int t = 0; t < length; ++t) e.input_ids.push_back(std::uniform_int_distribution<int>(5, 60)(rng));
      e.token_type_ids.assign(length, 0);
      e.attention_mask.assign(length, 1);
      out.push_back(std::move(e));
    }
    return out;
  }

  static float max_abs_diff(const Rows& a, const Rows& b) {
    EXPECT_EQ(a.size(), b.size());
    float worst = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      EXPECT_EQ(a[i].size(), b[i].size());
      for (size_t j = 0; j < std::min(a[i].size(), b[i].size()); ++j)
        worst = std::max(worst, std::abs(a[i][j] - b[i][j]));
    }
    return worst;
  }

  static inline std::unique_ptr<TempDir> dir_;
};

TEST_F(BatchSchedulerTest, EveryRequestGetsItsOwnRowsFromManyThreads) {
  const Model model = load();
  ServerMetrics metrics;
  BatchScheduler scheduler(model, {.max_batch_tokens = 96, .max_queue = 1000}, &metrics);
  constexpr int kThreads = 8, kRequests = 25;
  std::vector<std::thread> threads;
  std::vector<float> worst(kThreads, 0.0f);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int r = 0; r < kRequests; ++r) {
        const std::vector<Encoding> encodings = random_encodings(rng, 1 + r % 5);
        const Head head = (t + r) % 2 ? Head::Embedding : Head::Logits;
        const Rows expected = head == Head::Embedding ? model.embed_encodings(encodings, 64)
                                                      : model.logits_for_encodings(encodings, 64);
        const Rows got = scheduler.submit(head, encodings).get();
        worst[t] = std::max(worst[t], max_abs_diff(got, expected));
      }
    });
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_LT(worst[t], 1e-5f) << "thread " << t;
  // Requests were packed together (not one batch per request) and under the budget.
  const std::string text = metrics.render();
  EXPECT_NE(text.find("quantpipe_batch_tokens_bucket{le=\"128\"} "), std::string::npos) << text;
  EXPECT_EQ(text.find("quantpipe_batch_size_count 0\n"), std::string::npos) << text;
}

TEST_F(BatchSchedulerTest, ALongSequenceRunsAloneAndBudgetsHold) {
  const Model model = load();
  ServerMetrics metrics;
  BatchScheduler scheduler(model, {.max_batch_tokens = 16, .max_queue = 10}, &metrics);
  std::mt19937 rng(7);
  std::vector<Encoding> encodings = random_encodings(rng, 6);  // most are longer than the budget
  const Rows expected = model.embed_encodings(encodings, 64);
  EXPECT_LT(max_abs_diff(scheduler.submit(Head::Embedding, encodings).get(), expected), 1e-5f);
  EXPECT_TRUE(scheduler.submit(Head::Embedding, {}).get().empty());
}

TEST_F(BatchSchedulerTest, AFullQueueRefusesWithOverloaded) {
  Model model = load();
  GateSink gate;
  model.set_tensor_sink(&gate);
  BatchScheduler scheduler(model, {.max_batch_tokens = 1, .max_queue = 2}, nullptr);
  std::mt19937 rng(3);
  auto running = scheduler.submit(Head::Logits, random_encodings(rng, 1));
  gate.wait_for_passes(1);  // the scheduler holds that request in a batch: the queue is empty
  auto second = scheduler.submit(Head::Logits, random_encodings(rng, 1));
  auto third = scheduler.submit(Head::Logits, random_encodings(rng, 1));
  EXPECT_EQ(scheduler.queued_requests(), 2);
  try {
    scheduler.submit(Head::Logits, random_encodings(rng, 1));
    ADD_FAILURE() << "a third waiting request was accepted with --max-queue 2";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 429);
    EXPECT_STREQ(e.type(), "Overloaded");
  }
  gate.open();
  EXPECT_EQ(running.get().size(), 1u);
  EXPECT_EQ(second.get().size(), 1u);
  EXPECT_EQ(third.get().size(), 1u);
}

TEST_F(BatchSchedulerTest, StopFinishesQueuedWorkThenRefuses) {
  Model model = load();
  GateSink gate;
  model.set_tensor_sink(&gate);
  BatchScheduler scheduler(model, {.max_batch_tokens = 1, .max_queue = 10}, nullptr);
  std::mt19937 rng(5);
  auto running = scheduler.submit(Head::Embedding, random_encodings(rng, 2));
  gate.wait_for_passes(1);
  auto queued = scheduler.submit(Head::Embedding, random_encodings(rng, 3));
  std::thread stopper([&] { scheduler.stop(); });
  gate.open();
  stopper.join();
  EXPECT_EQ(running.get().size(), 2u);
  EXPECT_EQ(queued.get().size(), 3u);
  try {
    scheduler.submit(Head::Embedding, random_encodings(rng, 1));
    ADD_FAILURE() << "a stopped scheduler took work";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 503);
  }
}

TEST_F(BatchSchedulerTest, AModelErrorReachesOnlyItsBatch) {
  const Model model = load();
  BatchScheduler scheduler(model, {.max_batch_tokens = 100000, .max_queue = 10}, nullptr);
  Encoding bad;
  bad.input_ids = {1, 100000, 2};  // past the vocabulary
  bad.token_type_ids = {0, 0, 0};
  bad.attention_mask = {1, 1, 1};
  auto failing = scheduler.submit(Head::Embedding, {bad});
  EXPECT_THROW(failing.get(), Error);
  std::mt19937 rng(9);
  EXPECT_EQ(scheduler.submit(Head::Embedding, random_encodings(rng, 2)).get().size(), 2u);
}

}  // namespace
}  // namespace qp::serve
