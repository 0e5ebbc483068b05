// The server in this process, its model held at the start of each forward
// pass by a tensor sink, so queue states are exact rather than timed: a full
// queue answers 429 with Retry-After, and stop() (what SIGTERM calls) closes
// the listener at once yet answers every request already read.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <regex>
#include <thread>

#include "../unit/serve/gate_sink.h"
#include "serve/server.h"
#include "serve_process.h"

namespace qp::test {
namespace {

using nlohmann::json;

class ServeInProcess : public ::testing::Test {
 protected:
  void start(serve::ServeOptions options) {
    write_tiny_bert(tmp_.path() / "embed", {.sentence_transformer = true});
    Model model = Model::load(tmp_.path() / "embed", {.threads = 1});
    model.set_tensor_sink(&gate_);
    options.port = 0;
    options.access_log = "";
    server_ = std::make_unique<serve::Server>(std::move(model), options);
    port_ = server_->bind();
    runner_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    gate_.open();
    if (server_) server_->stop();
    if (runner_.joinable()) runner_.join();
  }

  std::future<httplib::Result> post_async(const std::string& text) {
    return std::async(std::launch::async, [this, text] {
      httplib::Client client("127.0.0.1", port_);
      client.set_read_timeout(60, 0);
      return client.Post("/embed", json({{"inputs", text}}).dump(), "application/json");
    });
  }
  // A gauge of /metrics, polled until it reaches `value` (a hang fails after 60 s).
  void wait_for_gauge(const std::string& name, int value) {
    const std::regex line(name + " ([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      httplib::Client client("127.0.0.1", port_);
      const auto metrics = client.Get("/metrics");
      std::smatch match;
      if (metrics && std::regex_search(metrics->body, match, line) && std::stoi(match[1]) >= value) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << name << " never reached " << value;
  }

  TempDir tmp_;
  GateSink gate_;
  std::unique_ptr<serve::Server> server_;
  std::thread runner_;
  int port_ = -1;
};

TEST_F(ServeInProcess, AFullQueueAnswers429WithRetryAfter) {
  start({.max_batch_tokens = 1, .max_queue = 1});
  auto running = post_async("first");
  gate_.wait_for_passes(1);  // the scheduler holds "first" in a batch
  auto queued = post_async("second");
  wait_for_gauge("quantpipe_queue_depth", 1);
  httplib::Client client("127.0.0.1", port_);
  const auto refused = client.Post("/embed", json({{"inputs", "third"}}).dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(refused->body)["error_type"], "Overloaded");
  gate_.open();
  const auto first = running.get(), second = queued.get();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);
}

TEST_F(ServeInProcess, StopRefusesNewConnectionsAndFinishesThoseInFlight) {
  start({.max_batch_tokens = 1, .max_queue = 16});
  std::vector<std::future<httplib::Result>> in_flight;
  for (int i = 0; i < 4; ++i) in_flight.push_back(post_async("request " + std::to_string(i)));
  gate_.wait_for_passes(1);
  wait_for_gauge("quantpipe_requests_in_flight", 4);
  server_->stop();
  // The listener closes (within the watcher's 10 ms poll): new connections are refused...
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1, 0);
    refused = !client.Get("/health");
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(refused) << "the listener stayed open after stop()";
  // ...while the four requests already read are all answered.
  gate_.open();
  for (auto& request : in_flight) {
    const auto result = request.get();
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(json::parse(result->body).size(), 1u);
  }
  runner_.join();  // run() returned: the scheduler drained and stopped
}

}  // namespace
}  // namespace qp::test
