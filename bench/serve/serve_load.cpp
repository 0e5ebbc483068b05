// Closed-loop HTTP load for bench/serve_bench.sh: N clients, each with one
// keep-alive connection, send POST {"inputs": [text, …]} back to back for a
// fixed time and record each request's latency. Prints one JSON line:
// {"concurrency", "requests", "errors", "seconds", "requests_per_s",
//  "texts_per_s", "p50_ms", "p95_ms", "p99_ms"}.
//
//   quantpipe_serve_load --port 8080 --texts texts.txt --concurrency 8 --seconds 10
//       [--host 127.0.0.1] [--path /embed] [--inputs-per-request 1] [--warmup 2]
//
// Texts are taken round-robin from the file (one per line) so every server
// sees the same sequence. A request counts as an error unless it is answered
// 200 with a list of as many rows as it sent ([[…], …], rows counted, numbers
// not parsed).
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t low = static_cast<size_t>(std::floor(rank));
  const size_t high = std::min(values.size() - 1, low + 1);
  return values[low] + (values[high] - values[low]) * (rank - static_cast<double>(low));
}

// Rows of a [[…], […], …] answer, counted without parsing the numbers: the
// client's own CPU time comes out of the same two cores the servers run on.
int rows_in(const std::string& body) {
  if (body.size() < 4 || body[0] != '[' || body[1] != '[' || body.back() != ']') return -1;
  int rows = 1;
  for (size_t i = 1; i + 1 < body.size(); ++i)
    if (body[i] == ']' && body[i + 1] == ',') ++rows;
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Closed-loop HTTP load against an embedding server (bench/serve_bench.sh)"};
  std::string host = "127.0.0.1", path = "/embed", texts_path;
  int port = 0, concurrency = 1, inputs_per_request = 1;
  double seconds = 10, warmup = 2;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--path", path)->capture_default_str();
  app.add_option("--texts", texts_path, "One text per line")->required()->check(CLI::ExistingFile);
  app.add_option("--concurrency", concurrency)->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--inputs-per-request", inputs_per_request)
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "Measured time")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", warmup, "Unmeasured load before it")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> texts;
  std::ifstream in(texts_path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) texts.push_back(line);
  if (texts.empty()) {
    std::cerr << texts_path << ": no texts\n";
    return 1;
  }
  // Request bodies made before timing, so JSON writing is not measured.
  std::vector<std::string> bodies;
  for (size_t i = 0; i < texts.size(); ++i) {
    nlohmann::json inputs = nlohmann::json::array();
    for (int k = 0; k < inputs_per_request; ++k)
      inputs.push_back(texts[(i + static_cast<size_t>(k)) % texts.size()]);
    bodies.push_back(nlohmann::json{{"inputs", inputs}}.dump());
  }

  std::atomic<size_t> next{0};
  std::atomic<int64_t> errors{0};
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const Clock::time_point end =
      measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c)
    clients.emplace_back([&, c] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(
          true);  // headers and body go out as separate writes: no Nagle delay between them
      client.set_read_timeout(120, 0);
      for (;;) {
        const Clock::time_point sent = Clock::now();
        if (sent >= end) return;
        const std::string& body = bodies[next.fetch_add(1) % bodies.size()];
        const auto result = client.Post(path.c_str(), body, "application/json");
        const Clock::time_point answered = Clock::now();
        const bool ok = result && result->status == 200 && rows_in(result->body) == inputs_per_request;
        if (sent < measure_from || answered > end) continue;  // outside the measured window
        if (!ok) {
          ++errors;
          continue;
        }
        latencies[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(answered - sent).count());
      }
    });
  for (std::thread& t : clients) t.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const double requests = static_cast<double>(all.size());
  std::cout << nlohmann::ordered_json{{"concurrency", concurrency},
                                      {"inputs_per_request", inputs_per_request},
                                      {"requests", all.size()},
                                      {"errors", errors.load()},
                                      {"seconds", seconds},
                                      {"requests_per_s", requests / seconds},
                                      {"texts_per_s", requests * inputs_per_request / seconds},
                                      {"p50_ms", percentile(all, 50)},
                                      {"p95_ms", percentile(all, 95)},
                                      {"p99_ms", percentile(all, 99)}}
                   .dump()
            << std::endl;
  return errors.load() > 0 && all.empty() ? 1 : 0;
}
