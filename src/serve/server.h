// `quantpipe serve`: one model behind HTTP. Routes speak
// text-embeddings-inference's JSON (/embed, /predict, /rerank, /tokenize,
// /health, /info, /metrics), OpenAI's (/v1/embeddings) and
// transformers' zero-shot pipeline's (/zero-shot). Requests are tokenized on
// the HTTP threads and batched for the model by a BatchScheduler.
//
//   serve::Server server(Model::load(dir), options);
//   const int port = server.bind();   // throws when the address is taken
//   server.run();                     // until stop(): then finishes what is in flight
#pragma once

#include <memory>

#include "quantpipe/model.h"
#include "serve/serve_options.h"

namespace qp::serve {

class Server {
 public:
  // Throws qp::Error for options out of range or an access log that cannot be opened.
  Server(Model model, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (the free one chosen for port 0).
  // Throws qp::Error "cannot listen on HOST:PORT" when the address is taken or invalid.
  int bind();
  // Serves until stop(); then lets the requests already read finish, stops
  // the scheduler and returns.
  void run();
  // Refuses new connections and requests from now on. Thread-safe; not for
  // a signal handler (use a thread that waits for the signal).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qp::serve
