// What `quantpipe serve` is told: where to listen and the limits that keep
// one client from taking the server down. Defaults follow
// text-embeddings-inference where it has the same setting.
#pragma once

#include <cstdint>
#include <string>

namespace qp::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port (the log line says which)
  std::string model_id;              // the name /info and /v1/embeddings report
  int64_t max_batch_tokens = 16384;  // tokens per batch the scheduler packs
  int max_queue = 128;               // requests waiting for the model; more get 429
  int max_client_batch_size = 32;    // inputs per request; more get 413
  int max_input_length = 0;          // tokens per input; 0: the model's (Model::default_max_length)
  bool auto_truncate = false;        // what "truncate": null means
  int64_t max_body_bytes = 2 << 20;  // larger bodies get 413
  int http_threads = 0;              // connections served at once; 0: max_queue + 16
  int read_timeout_seconds = 10;     // a client that sends nothing for this long is dropped
  std::string api_key;  // non-empty: "Authorization: Bearer KEY" on every route but /health, /metrics
  std::string cors_allow_origin;  // non-empty: the Access-Control-Allow-Origin header, and preflights
  std::string access_log = "-";   // JSON lines: "-" standard output, "" none, else a file (appended)
};

}  // namespace qp::serve
