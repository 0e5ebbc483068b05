// quantpipe serve: one model behind HTTP with dynamic batching (src/serve/).
// SIGTERM or SIGINT: stop accepting, answer what is in flight, exit 0.
#include <pthread.h>

#include <csignal>
#include <thread>

#include "command.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "run_options.h"
#include "serve/server.h"

namespace qp::cli {

namespace {

// Blocks SIGTERM and SIGINT in this thread and every thread started after
// it (the model's pool, the HTTP threads), so that only the waiter started by
// stop_on_signal() receives them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// A thread that waits for the signal and stops the server: no work in a
// signal handler, so shutdown may lock, log and join.
void stop_on_signal(sigset_t signals, serve::Server& server) {
  std::thread([signals, &server] {
    int received = 0;
    if (sigwait(&signals, &received) != 0) return;
    log_info("serve: ", received == SIGTERM ? "SIGTERM" : "SIGINT",
             ": refusing new connections, finishing the requests in flight");
    server.stop();
  }).detach();
}

}  // namespace

Action configure_serve(CLI::App& app) {
  struct Args {
    std::string model;
    int threads = 0;
    serve::ServeOptions options;
  };
  auto args = std::make_shared<Args>();
  serve::ServeOptions& o = args->options;
  app.add_option("-m,--model", args->model,
                 "Model directory (Hugging Face or converted), .gguf file, or hub id org/name[@revision]")
      ->required();
  app.add_option("--host", o.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  app.add_option("--port", o.port, "Port to listen on; 0 picks a free one (the log line says which)")
      ->capture_default_str()
      ->check(in_range(0, 65535));
  app.add_option("--threads", args->threads,
                 "Threads of the model's forward passes (0: all hardware threads)")
      ->check(thread_count());
  app.add_option("--max-batch-tokens", o.max_batch_tokens,
                 "Tokens the scheduler packs into one batch (a longer single input runs alone)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--max-queue", o.max_queue,
                 "Requests that may wait for the model; more are answered 429 with Retry-After")
      ->capture_default_str()
      ->check(in_range(1, 100000));
  app.add_option("--max-client-batch-size", o.max_client_batch_size,
                 "Inputs one request may carry; more are answered 413")
      ->capture_default_str()
      ->check(in_range(1, 100000));
  app.add_option("--max-input-length", o.max_input_length,
                 "Tokens per input (default: the model's, as embed uses); longer inputs are answered 413 "
                 "unless the request says \"truncate\": true or --auto-truncate is set")
      ->check(in_range(0, kMaxTokens));
  app.add_flag("--auto-truncate", o.auto_truncate,
               "Cut long inputs when a request does not say \"truncate\"");
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body; larger ones are answered 413")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30));
  app.add_option("--http-threads", o.http_threads,
                 "Connections served at once (default: --max-queue + 16); each keeps its thread while it is "
                 "open")
      ->check(in_range(0, 4096));
  app.add_option("--read-timeout", o.read_timeout_seconds,
                 "Seconds a client may stay silent mid-request before it is dropped")
      ->capture_default_str()
      ->check(in_range(1, 3600));
  app.add_option("--api-key", o.api_key,
                 "Require \"Authorization: Bearer KEY\" on every route but /health and /metrics (401 "
                 "otherwise); also read from QUANTPIPE_API_KEY")
      ->envname("QUANTPIPE_API_KEY");
  app.add_option("--cors-allow-origin", o.cors_allow_origin,
                 "Allow browsers on this origin (e.g. https://example.com, or *) to call the server; no CORS "
                 "headers unless given");
  app.add_option("--access-log", o.access_log,
                 "JSON-lines access log: '-' standard output, '' none, else a file (appended)")
      ->capture_default_str();
  app.add_option("--model-id", o.model_id, "The name /info and /v1/embeddings report (default: --model)");
  return [args] {
    const sigset_t signals = block_stop_signals();
    serve::ServeOptions options = args->options;
    if (options.model_id.empty()) options.model_id = args->model;
    Model model = Model::load(resolve_model_source(args->model), {args->threads});
    log_info("serve: ", model.info().architecture, " ", model.weight_format(), " on ", model.threads(),
             " threads");
    serve::Server server(std::move(model), options);
    const int port = server.bind();
    log_info("serve: listening on http://", options.host, ":", port);
    stop_on_signal(signals, server);
    server.run();
    log_info("serve: stopped");
    return 0;
  };
}

}  // namespace qp::cli
