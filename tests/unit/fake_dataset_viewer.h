// A small fake of the hub's dataset viewer (datasets-server) on 127.0.0.1 for
// the hub dataset tests (cpp-httplib, in a thread of the test): /splits and
// /rows with the real API's paging (at most 100 rows a page, row_idx,
// num_rows_total), 404 for an unknown dataset, and injected faults (429s).
// Row objects are served as given, so a test knows every byte expected.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace qp::test {

class FakeDatasetViewer {
 public:
  using Rows = std::vector<nlohmann::json>;
  // dataset → config → split → rows
  std::map<std::string, std::map<std::string, std::map<std::string, Rows>>> datasets;
  int fail_429 = 0;                   // /rows answers 429 this many times first
  int rows_requests = 0;              // /rows requests served (429s included)
  std::vector<std::string> requests;  // every request's path and query, in order

  FakeDatasetViewer() {
    server_.Get("/splits", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      log(req);
      const auto dataset = datasets.find(req.get_param_value("dataset"));
      if (dataset == datasets.end()) return error(res, 404, "The dataset does not exist.");
      nlohmann::json answer = {{"splits", nlohmann::json::array()}};
      for (const auto& [config, splits] : dataset->second)
        for (const auto& [split, rows] : splits)
          answer["splits"].push_back({{"dataset", dataset->first}, {"config", config}, {"split", split}});
      res.set_content(answer.dump(), "application/json");
    });
    server_.Get("/rows", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      log(req);
      ++rows_requests;
      if (fail_429 > 0) {
        --fail_429;
        return error(res, 429, "Too Many Requests");
      }
      const auto dataset = datasets.find(req.get_param_value("dataset"));
      if (dataset == datasets.end()) return error(res, 404, "The dataset does not exist.");
      const auto config = dataset->second.find(req.get_param_value("config"));
      if (config == dataset->second.end()) return error(res, 404, "The config does not exist.");
      const auto split = config->second.find(req.get_param_value("split"));
      if (split == config->second.end()) return error(res, 404, "The split does not exist.");
      const int64_t offset = std::stoll(req.get_param_value("offset"));
      const int64_t length = std::stoll(req.get_param_value("length"));
      if (length > 100) return error(res, 422, "Parameter 'length' must not be greater than 100");
      const Rows& rows = split->second;
      nlohmann::json page = {{"features", nlohmann::json::array()},
                             {"rows", nlohmann::json::array()},
                             {"num_rows_total", rows.size()},
                             {"num_rows_per_page", 100},
                             {"partial", false}};
      for (int64_t i = offset; i < offset + length && i < static_cast<int64_t>(rows.size()); ++i)
        page["rows"].push_back(
            {{"row_idx", i}, {"row", rows[i]}, {"truncated_cells", nlohmann::json::array()}});
      res.set_content(page.dump(), "application/json");
    });
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeDatasetViewer() {
    server_.stop();
    thread_.join();
  }
  FakeDatasetViewer(const FakeDatasetViewer&) = delete;
  FakeDatasetViewer& operator=(const FakeDatasetViewer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void log(const httplib::Request& req) {
    std::string query;
    for (const auto& [key, value] : req.params) query += (query.empty() ? "?" : "&") + key + "=" + value;
    requests.push_back(req.path + query);
  }
  static void error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json({{"error", message}}).dump(), "application/json");
  }

  std::mutex mutex_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace qp::test
