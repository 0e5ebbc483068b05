// /metrics text: cumulative Prometheus histograms and the counters the
// server keeps, in the exposition format scrapers read.
#include "serve/server_metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/access_log.h"

namespace qp::serve {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(ServeMetrics, HistogramBucketsAreCumulative) {
  Histogram histogram({1, 10, 100});
  for (double v : {0.5, 1.0, 5.0, 50.0, 500.0}) histogram.observe(v);
  std::string out;
  histogram.write(out, "x", "route=\"/embed\"");
  EXPECT_TRUE(has_line(out, "x_bucket{route=\"/embed\",le=\"1\"} 2")) << out;  // le is inclusive
  EXPECT_TRUE(has_line(out, "x_bucket{route=\"/embed\",le=\"10\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "x_bucket{route=\"/embed\",le=\"100\"} 4")) << out;
  EXPECT_TRUE(has_line(out, "x_bucket{route=\"/embed\",le=\"+Inf\"} 5")) << out;
  EXPECT_TRUE(has_line(out, "x_sum{route=\"/embed\"} 556.5")) << out;
  EXPECT_TRUE(has_line(out, "x_count{route=\"/embed\"} 5")) << out;
}

TEST(ServeMetrics, RequestsBatchesAndGauges) {
  ServerMetrics metrics;
  metrics.request_started();
  metrics.request_answered("/embed", 200, 0.002);
  metrics.request_answered("/embed", 200, 0.003);
  metrics.request_answered("/embed", 413, std::nullopt);
  metrics.inputs_tokenized("/embed", {5, 7});
  metrics.batch_ran(2, 12, 0.001);
  metrics.set_queue_depth(3);
  const std::string text = metrics.render();
  EXPECT_TRUE(has_line(text, "quantpipe_requests_total{route=\"/embed\",code=\"200\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_requests_total{route=\"/embed\",code=\"413\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_request_duration_seconds_count{route=\"/embed\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_requests_in_flight 1")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_queue_depth 3")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_inputs_total{route=\"/embed\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_tokens_total{route=\"/embed\"} 12")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_batch_size_bucket{le=\"2\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "quantpipe_batch_tokens_sum 12")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE quantpipe_batch_size histogram")) << text;
  metrics.request_ended();
  EXPECT_EQ(metrics.in_flight(), 0);
}

TEST(ServeAccessLog, OneJsonObjectPerLine) {
  AccessRecord record;
  record.remote = "127.0.0.1:5000";
  record.method = "POST";
  record.path = "/embed\n";  // escaped, never a second line
  record.status = 200;
  record.milliseconds = 1.23456;
  record.inputs = 2;
  const std::string line = access_record_json(record);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["path"], "/embed\n");
  EXPECT_EQ(parsed["status"], 200);
  EXPECT_DOUBLE_EQ(parsed["ms"].get<double>(), 1.235);
  EXPECT_EQ(parsed["inputs"], 2);
  EXPECT_FALSE(parsed.contains("tokens"));
  EXPECT_EQ(parsed["time"].get<std::string>().back(), 'Z');
}

}  // namespace
}  // namespace qp::serve
