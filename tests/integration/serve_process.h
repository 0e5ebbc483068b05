// `quantpipe serve` as a child process for the serve tests: started on
// 127.0.0.1 with --port 0, the port read from its "listening on" log line,
// and an HTTP client for it. Also the tiny models the serve tests share.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "model_edit.h"
#include "models/tiny_model.h"

namespace qp::test {

class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& model, std::vector<std::string> extra = {})
      : ServeProcess(serve_argv(model.string(), std::move(extra))) {}

  // Any command line that ends in `quantpipe serve … --port 0` (e.g. behind /usr/bin/env).
  explicit ServeProcess(const std::vector<std::string>& argv) {
    child_ = std::make_unique<ChildProcess>(argv);
    // Loading a tiny model takes milliseconds; 60 s is a hang, not a slow machine.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch match;
      const std::string err = child_->stderr_so_far();
      if (std::regex_search(err, match, listening)) {
        port_ = std::stoi(match[1]);
        return;
      }
      if (waitpid(child_->pid(), nullptr, WNOHANG) == child_->pid()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "quantpipe serve did not start:\n" << child_->stderr_so_far();
  }

  // quantpipe serve --model MODEL --port 0 [--threads 1] EXTRA…
  static std::vector<std::string> serve_argv(const std::string& model, std::vector<std::string> extra) {
    std::vector<std::string> argv = {quantpipe_binary().string(), "serve", "--model", model, "--port", "0"};
    if (std::find(extra.begin(), extra.end(), "--threads") == extra.end())
      extra.insert(extra.end(), {"--threads", "1"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  bool started() const { return port_ > 0; }

  std::unique_ptr<httplib::Client> client(int timeout_seconds = 60) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(timeout_seconds, 0);
    c->set_write_timeout(timeout_seconds, 0);
    c->set_connection_timeout(10, 0);
    return c;
  }

  // POST of a JSON body; status 0 when no answer came.
  std::pair<int, std::string> post(const std::string& path, const std::string& body,
                                   const httplib::Headers& headers = {}) const {
    const auto result = client()->Post(path.c_str(), headers, body, "application/json");
    if (!result) return {0, httplib::to_string(result.error())};
    return {result->status, result->body};
  }
  nlohmann::json post_json(const std::string& path, const nlohmann::json& body) const {
    const auto [status, text] = post(path, body.dump());
    EXPECT_EQ(status, 200) << path << " " << body.dump().substr(0, 300) << " → " << text;
    return status == 200 ? nlohmann::json::parse(text) : nlohmann::json();
  }

  CliResult terminate_and_wait(int signal = SIGTERM) {
    kill(child_->pid(), signal);
    return child_->wait();
  }

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_ = -1;
};

// The models the serve tests run: a sentence-transformers embedder, a
// 3-label classifier, a cross-encoder (one logit) and an "NLI" classifier
// whose labels name entailment (random weights: the routes are checked
// against the CLI on the same model, not for meaning).
struct ServeModels {
  explicit ServeModels(const std::filesystem::path& root)
      : embed(root / "embed"), classify(root / "classify"), rerank(root / "rerank"), nli(root / "nli") {
    write_tiny_bert(embed, {.sentence_transformer = true});
    write_tiny_bert(classify, {.num_labels = 3});
    write_tiny_bert(rerank, {.num_labels = 1, .seed = 99});
    write_tiny_bert(nli, {.num_labels = 3, .seed = 7});
    edit_config(nli, [](nlohmann::json& config) {
      config["id2label"] = {{"0", "contradiction"}, {"1", "neutral"}, {"2", "entailment"}};
      config["label2id"] = {{"contradiction", 0}, {"neutral", 1}, {"entailment", 2}};
    });
  }
  std::filesystem::path embed, classify, rerank, nli;
};

}  // namespace qp::test
