#include "serve/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "core/build_info.h"
#include "core/cpu_isa.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "eval/zero_shot.h"
#include "models/pooling.h"
#include "serve/access_log.h"
#include "serve/api_json.h"
#include "serve/batch_scheduler.h"
#include "serve/request_error.h"
#include "serve/server_metrics.h"

namespace qp::serve {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kJson = "application/json";
constexpr int kNoTruncation = INT_MAX / 2;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// What one request cost, for its response headers (TEI's names) and the access log.
struct RouteCost {
  std::string route;
  Clock::time_point start = Clock::now();
  double tokenization_ms = 0;
  double inference_ms = 0;  // queue wait and the batches its sequences ran in
  int64_t inputs = 0;
  int64_t tokens = 0;
};

// The routes the metrics and the access log name; anything else counts as "other".
const std::set<std::string> kRoutes = {"/embed",  "/predict", "/rerank",  "/tokenize",     "/zero-shot",
                                       "/health", "/info",    "/metrics", "/v1/embeddings"};

// Compares a secret without stopping at the first differing byte.
bool equal_in_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

// Debian's cpp-httplib (0.11) listens with a backlog of 5, fixed when the
// library was built: 32 clients connecting at once overflow it, and the
// kernel then drops connections that clients already count as open (they see
// a failed read). Calling listen() again on the listening socket sets a new
// backlog; the socket is found as the one of this process accepting on `port`.
void raise_listen_backlog(int port) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting) continue;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    const int bound =
        address.ss_family == AF_INET    ? ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port)
        : address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port)
                                        : -1;
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

// TEI's refusal of a request with more inputs than --max-client-batch-size allows.
void check_batch_size(size_t inputs, size_t limit, const char* what = "") {
  if (inputs > limit)
    reject(kValidation, "batch size ", inputs, " > maximum allowed batch size ", limit, what);
}

// Every input is paired with every label's hypothesis, each pair a copy:
// refused before they are built when they would hold more than
// kMaxZeroShotPairBytes (a 2 MiB body could otherwise ask for gigabytes).
constexpr size_t kMaxZeroShotPairBytes = size_t{32} << 20;

void check_pair_bytes(const ZeroShotRequest& request) {
  size_t inputs = 0, labels = 0;
  for (const std::string& text : request.inputs) inputs += text.size();
  for (const std::string& label : request.candidate_labels) labels += label.size();
  const size_t n_inputs = request.inputs.size(), n_labels = request.candidate_labels.size();
  const size_t bytes =
      n_labels * inputs + n_inputs * (labels + n_labels * request.hypothesis_template.size());
  if (bytes > kMaxZeroShotPairBytes)
    reject(kValidation, "the ", n_inputs, " x ", n_labels, " premise/hypothesis pairs would hold ", bytes,
           " bytes (at most ", kMaxZeroShotPairBytes, "): send fewer or shorter inputs, labels or template");
}

void check_option(bool ok, const char* option, int64_t value, const char* expected) {
  if (!ok) fail("serve: ", option, " ", value, ": expected ", expected);
}

}  // namespace

struct Server::Impl {
  Impl(Model loaded, ServeOptions opts)
      : model(std::move(loaded)),
        options(std::move(opts)),
        max_input_length(options.max_input_length > 0
                             ? std::min(options.max_input_length, model.info().max_positions)
                             : model.default_max_length()),
        http_threads(options.http_threads > 0 ? options.http_threads : options.max_queue + 16),
        access_log(options.access_log) {
    if (!model.has_tokenizer())
      fail(model.path().string(), ": serve needs the model's tokenizer (tokenizer.json, vocab.txt, …)");
    // Embeddings leave the model unnormalized: /embed normalizes per request,
    // after cutting to "dimensions".
    EmbeddingHead head = model.embedding_head();
    head.normalize = false;
    model.set_embedding_head(head);
    scheduler = std::make_unique<BatchScheduler>(
        model, BatchLimits{options.max_batch_tokens, options.max_queue}, &metrics);
    add_routes();
  }

  Model model;
  ServeOptions options;
  int max_input_length;
  int http_threads;
  ServerMetrics metrics;
  AccessLog access_log;
  std::unique_ptr<BatchScheduler> scheduler;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  int port = -1;

  using Route = std::function<void(const nlohmann::json& body, httplib::Response& res, RouteCost& cost)>;

  void add_routes();
  void add_post(const std::string& path, Route route, bool openai_errors = false);
  std::vector<Encoding> encode(const std::vector<TextInput>& inputs, std::optional<bool> truncate,
                               RouteCost& cost, size_t max_inputs);
  Rows run(Head head, std::vector<Encoding> encodings, RouteCost& cost) const;
  Rows embed(const std::vector<std::string>& texts, std::optional<bool> truncate,
             std::optional<int64_t> dimensions, bool normalize, RouteCost& cost);
  void require_labels(const char* route, bool one_logit) const;
  nlohmann::ordered_json info_json() const;
  void log_access(const httplib::Request& req, const httplib::Response& res);
};

void Server::Impl::add_post(const std::string& path, Route route, bool openai_errors) {
  http.Post(path, [this, route, openai_errors](const httplib::Request& req, httplib::Response& res) {
    RouteCost cost;
    cost.route = req.path;
    metrics.request_started();
    try {
      route(parse_body(req.body), res, cost);
    } catch (const RequestError& e) {
      res.status = e.status();
      res.set_content(error_json(e.what(), e.type(), e.status(), openai_errors), kJson);
      if (e.status() == 429) res.set_header("Retry-After", "1");
    } catch (const std::exception& e) {  // a bug or exhausted memory: this request fails, the server stays
      log_warn("serve: ", req.path, ": ", e.what());
      res.status = 500;
      res.set_content(error_json(e.what(), "Internal", 500, openai_errors), kJson);
    }
    metrics.request_ended();
    const auto whole_ms = [](double ms) { return std::to_string(static_cast<int64_t>(ms)); };
    res.set_header("x-total-time", whole_ms(milliseconds_since(cost.start)));
    res.set_header("x-tokenization-time", whole_ms(cost.tokenization_ms));
    res.set_header("x-inference-time", whole_ms(cost.inference_ms));
    res.set_header("x-compute-inputs", std::to_string(cost.inputs));
    res.set_header("x-compute-tokens", std::to_string(cost.tokens));
    res.set_header("x-total-time-us",
                   std::to_string(static_cast<int64_t>(milliseconds_since(cost.start) * 1000)));
  });
}

// Tokenizes each input to at most max_input_length tokens: longer ones are
// cut when truncating (the request's "truncate", else --auto-truncate) and
// refused otherwise, naming the count.
std::vector<Encoding> Server::Impl::encode(const std::vector<TextInput>& inputs, std::optional<bool> truncate,
                                           RouteCost& cost, size_t max_inputs) {
  const std::string& route = cost.route;
  check_batch_size(inputs.size(), max_inputs);
  const Clock::time_point start = Clock::now();
  const bool cut = truncate.value_or(options.auto_truncate);
  const Tokenizer& tokenizer = model.tokenizer();
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string which = inputs.size() > 1 ? cat("inputs[", i, "]: ") : std::string();
    Encoding encoding;
    try {
      encoding = encode_input(tokenizer, inputs[i], max_input_length + 1);
      if (static_cast<int>(encoding.input_ids.size()) > max_input_length) {
        if (!cut) {
          const size_t given = encode_input(tokenizer, inputs[i], kNoTruncation).input_ids.size();
          reject(kValidation, "Input validation error: ", which, "`inputs` must have at most ",
                 max_input_length, " tokens. Given: ", given, " (send \"truncate\": true to cut it)");
        }
        encoding = encode_input(tokenizer, inputs[i], max_input_length);
      }
    } catch (const RequestError&) {
      throw;
    } catch (const Error& e) {
      reject(kTokenizer, "tokenizer error ", which, e.what());
    }
    cost.tokens += static_cast<int64_t>(encoding.input_ids.size());
    encodings.push_back(std::move(encoding));
  }
  cost.inputs += static_cast<int64_t>(inputs.size());
  cost.tokenization_ms += milliseconds_since(start);
  std::vector<int64_t> lengths;
  for (const Encoding& e : encodings) lengths.push_back(static_cast<int64_t>(e.input_ids.size()));
  metrics.inputs_tokenized(route, lengths);
  return encodings;
}

Rows Server::Impl::run(Head head, std::vector<Encoding> encodings, RouteCost& cost) const {
  const Clock::time_point start = Clock::now();
  std::future<Rows> rows = scheduler->submit(head, std::move(encodings));
  try {
    Rows result = rows.get();
    cost.inference_ms += milliseconds_since(start);
    return result;
  } catch (const std::exception& e) {
    reject(kBackend, "Backend error: ", e.what());
  }
}

Rows Server::Impl::embed(const std::vector<std::string>& texts, std::optional<bool> truncate,
                         std::optional<int64_t> dimensions, bool normalize, RouteCost& cost) {
  std::vector<TextInput> inputs;
  for (const std::string& text : texts) inputs.push_back({text, std::nullopt});
  std::vector<Encoding> encodings = encode(inputs, truncate, cost, options.max_client_batch_size);
  Rows rows = run(Head::Embedding, std::move(encodings), cost);
  for (std::vector<float>& row : rows) {
    if (dimensions) {
      if (*dimensions > static_cast<int64_t>(row.size()))
        reject(kValidation, "Input validation error: dimensions ", *dimensions, " > the model's ",
               row.size());
      row.resize(static_cast<size_t>(*dimensions));
    }
    if (normalize) l2_normalize_rows(row, static_cast<int>(row.size()));
  }
  return rows;
}

void Server::Impl::require_labels(const char* route, bool one_logit) const {
  const int labels = model.info().num_labels;
  if (labels == 0)
    reject(kBackend, "Backend error: ", route,
           " needs a classifier; this model has no classification head "
           "(use /embed)");
  if (one_logit && labels != 1)
    reject(kBackend, "Backend error: model is not a re-ranker model: it has ", labels,
           " labels; /rerank needs a cross-encoder with one logit (use /predict with [query, text] pairs)");
}

nlohmann::ordered_json Server::Impl::info_json() const {
  const EncoderInfo& info = model.info();
  nlohmann::ordered_json model_type;
  if (info.num_labels == 0) {
    model_type["embedding"] = {{"pooling", pooling_mode_name(model.embedding_head().pooling)}};
  } else {
    nlohmann::ordered_json id2label = nlohmann::ordered_json::object(),
                           label2id = nlohmann::ordered_json::object();
    for (size_t i = 0; i < model.labels().size(); ++i) {
      id2label[std::to_string(i)] = model.labels()[i];
      label2id[model.labels()[i]] = i;
    }
    model_type[info.num_labels == 1 ? "reranker" : "classifier"] = {{"id2label", id2label},
                                                                    {"label2id", label2id}};
  }
  return {{"model_id", options.model_id},
          {"model_sha", nullptr},
          {"model_dtype", model.weight_format()},
          {"model_type", model_type},
          {"max_concurrent_requests", options.max_queue},
          {"max_input_length", max_input_length},
          {"max_batch_tokens", options.max_batch_tokens},
          {"max_batch_requests", nullptr},
          {"max_client_batch_size", options.max_client_batch_size},
          {"auto_truncate", options.auto_truncate},
          {"tokenization_workers", http_threads},
          {"version", kVersion},
          {"sha", kGitCommit},
          {"docker_label", nullptr},
          {"engine",
           {{"name", "quantpipe"},
            {"architecture", info.architecture},
            {"isa", std::string(isa_name(active_isa()))},
            {"threads", model.threads()},
            {"hidden_size", info.hidden_size},
            {"num_layers", info.num_layers}}}};
}

void Server::Impl::add_routes() {
  add_post("/embed", [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
    const EmbedRequest request = parse_embed(body);
    res.set_content(
        float_rows_json(embed(request.inputs, request.truncate, request.dimensions, request.normalize, cost)),
        kJson);
  });
  add_post(
      "/v1/embeddings",
      [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
        const OpenAiEmbedRequest request = parse_openai_embed(body);
        const Rows rows = embed(request.inputs, std::nullopt, request.dimensions, true, cost);
        res.set_content(openai_embeddings_json(rows, request.base64, options.model_id, cost.tokens), kJson);
      },
      /*openai_errors=*/true);
  add_post("/predict", [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
    const PredictRequest request = parse_predict(body);
    require_labels("/predict", false);
    const Rows logits = run(
        Head::Logits, encode(request.inputs, request.truncate, cost, options.max_client_batch_size), cost);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const std::vector<float>& row : logits)
      out.push_back(predictions_json(row, model.labels(), model.score_function(), request.raw_scores));
    res.set_content(
        (request.batch ? out : out.front()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        kJson);
  });
  add_post("/rerank", [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
    const RerankRequest request = parse_rerank(body);
    require_labels("/rerank", true);
    // Checked before the pairs are built: each holds its own copy of the query.
    check_batch_size(request.texts.size(), static_cast<size_t>(options.max_client_batch_size));
    std::vector<TextInput> pairs;
    for (const std::string& text : request.texts) pairs.push_back({request.query, text});
    const Rows logits =
        run(Head::Logits, encode(pairs, request.truncate, cost, options.max_client_batch_size), cost);
    std::vector<std::optional<float>> scores;
    for (const std::vector<float>& row : logits) {
      const Classification c = classification_from_logits(row, model.labels(), model.score_function());
      if (!c.has_label())
        scores.push_back(std::nullopt);
      else
        scores.push_back(request.raw_scores ? c.logits[0] : c.scores[0]);
    }
    res.set_content(rerank_json(scores, request.texts, request.return_text)
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    kJson);
  });
  add_post("/tokenize", [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
    const TokenizeRequest request = parse_tokenize(body);
    check_batch_size(request.inputs.size(), static_cast<size_t>(options.max_client_batch_size));
    const Clock::time_point start = Clock::now();
    const Tokenizer& tokenizer = model.tokenizer();
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    std::vector<int64_t> lengths;
    for (size_t i = 0; i < request.inputs.size(); ++i) {
      std::vector<int32_t> ids;
      try {
        ids = request.add_special_tokens
                  ? tokenizer.encode(request.inputs[i], std::nullopt, kNoTruncation).input_ids
                  : tokenizer.encode_without_special_tokens(request.inputs[i]);
      } catch (const Error& e) {
        reject(kTokenizer, "tokenizer error ", request.inputs.size() > 1 ? cat("inputs[", i, "]: ") : "",
               e.what());
      }
      nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
      for (int32_t id : ids)
        tokens.push_back({{"id", id},
                          {"text", tokenizer.id_to_token(id).value_or("")},
                          {"special", tokenizer.is_special_token(id)},
                          {"start", nullptr},
                          {"stop", nullptr}});
      cost.tokens += static_cast<int64_t>(ids.size());
      lengths.push_back(static_cast<int64_t>(ids.size()));
      out.push_back(std::move(tokens));
    }
    cost.inputs = static_cast<int64_t>(request.inputs.size());
    cost.tokenization_ms = milliseconds_since(start);
    metrics.inputs_tokenized(cost.route, lengths);
    res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
  });
  add_post("/zero-shot", [this](const nlohmann::json& body, httplib::Response& res, RouteCost& cost) {
    const ZeroShotRequest request = parse_zero_shot(body);
    try {
      eval::entailment_index(model);
    } catch (const Error& e) {
      reject(kBackend, "Backend error: ", e.what());
    }
    const size_t limit = static_cast<size_t>(options.max_client_batch_size);
    check_batch_size(std::max(request.inputs.size(), request.candidate_labels.size()), limit,
                     " (of inputs, and of candidate_labels)");
    check_pair_bytes(request);
    const std::vector<TextInput> pairs =
        eval::zero_shot_pairs(request.inputs, request.candidate_labels, request.hypothesis_template);
    const Rows logits = run(Head::Logits, encode(pairs, request.truncate, cost, limit * limit), cost);
    const eval::ZeroShotResult result = eval::zero_shot_scores(model, logits, request.inputs.size(),
                                                               request.candidate_labels, request.multi_label);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < request.inputs.size(); ++i)
      out.push_back(eval::zero_shot_json(request.inputs[i], request.candidate_labels, result.scores[i]));
    res.set_content(
        (request.batch ? out : out.front()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        kJson);
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (!stopping) return;  // 200, empty body
    res.status = 503;
    res.set_content(error_json("unhealthy: shutting down", "Unhealthy", 503, false), kJson);
  });
  http.Get("/info", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(info_json().dump(), kJson);
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
}

void Server::Impl::log_access(const httplib::Request& req, const httplib::Response& res) {
  const std::string route = kRoutes.count(req.path) ? req.path : "other";
  std::optional<double> ms;
  if (res.has_header("x-total-time-us")) ms = std::stod(res.get_header_value("x-total-time-us")) / 1000.0;
  metrics.request_answered(route, res.status, ms ? std::optional(*ms / 1000.0) : std::nullopt);
  AccessRecord record;
  record.remote = req.remote_addr + ":" + std::to_string(req.remote_port);
  record.method = req.method;
  record.path = req.path;
  record.status = res.status;
  record.milliseconds = ms;
  record.request_bytes = static_cast<int64_t>(req.body.size());
  record.response_bytes = static_cast<int64_t>(res.body.size());
  if (res.has_header("x-compute-inputs"))
    record.inputs = std::stoll(res.get_header_value("x-compute-inputs"));
  if (res.has_header("x-compute-tokens"))
    record.tokens = std::stoll(res.get_header_value("x-compute-tokens"));
  access_log.write(record);
}

Server::Server(Model model, ServeOptions options) {
  check_option(options.port >= 0 && options.port <= 65535, "--port", options.port, "0 to 65535");
  check_option(options.max_batch_tokens >= 1, "--max-batch-tokens", options.max_batch_tokens, "at least 1");
  check_option(options.max_queue >= 1 && options.max_queue <= 100000, "--max-queue", options.max_queue,
               "1 to 100000");
  check_option(options.max_client_batch_size >= 1 && options.max_client_batch_size <= 100000,
               "--max-client-batch-size", options.max_client_batch_size, "1 to 100000");
  check_option(options.max_input_length >= 0, "--max-input-length", options.max_input_length,
               "0 (the model's) or more");
  check_option(options.max_body_bytes >= 1024, "--max-body-bytes", options.max_body_bytes, "at least 1024");
  check_option(options.http_threads >= 0 && options.http_threads <= 4096, "--http-threads",
               options.http_threads, "0 (--max-queue + 16) to 4096");
  check_option(options.read_timeout_seconds >= 1, "--read-timeout", options.read_timeout_seconds,
               "at least 1");
  impl_ = std::make_unique<Impl>(std::move(model), std::move(options));
  Impl& impl = *impl_;
  const ServeOptions& o = impl.options;
  const int threads = impl.http_threads;
  impl.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl.http.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  impl.http.set_read_timeout(o.read_timeout_seconds, 0);
  impl.http.set_write_timeout(o.read_timeout_seconds, 0);
  impl.http.set_keep_alive_timeout(5);
  impl.http.set_keep_alive_max_count(1000000);
  // Headers and body are separate writes: without this, Nagle's algorithm holds the body
  // until the client's delayed ACK (40 ms on Linux) on every keep-alive answer.
  impl.http.set_tcp_nodelay(true);
  impl.http.set_logger(
      [&impl](const httplib::Request& req, const httplib::Response& res) { impl.log_access(req, res); });
  impl.http.set_pre_routing_handler([&impl](const httplib::Request& req, httplib::Response& res) {
    using Result = httplib::Server::HandlerResponse;
    if (impl.options.api_key.empty() || req.path == "/health" || req.path == "/metrics" ||
        req.method == "OPTIONS")
      return Result::Unhandled;
    if (equal_in_constant_time(req.get_header_value("Authorization"), "Bearer " + impl.options.api_key))
      return Result::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content(error_json("missing or wrong bearer token (Authorization: Bearer KEY)", "Unauthorized",
                               401, req.path == "/v1/embeddings"),
                    kJson);
    return Result::Handled;
  });
  if (!o.cors_allow_origin.empty()) {
    impl.http.set_post_routing_handler([&impl](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Origin", impl.options.cors_allow_origin);
      res.set_header("Vary", "Origin");
    });
    impl.http.Options(".*", [&impl](const httplib::Request&, httplib::Response& res) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Origin", impl.options.cors_allow_origin);
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization");
      res.set_header("Access-Control-Max-Age", "600");
    });
  }
  // Answers the HTTP layer gives itself (404, 413 over --max-body-bytes, 400) get a JSON body too.
  impl.http.set_error_handler([&impl](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = cat("HTTP ", res.status);
    const char* type = "Request";
    if (res.status == 404) message = cat("no route ", req.method, " ", req.path);
    if (res.status == 413) {
      message = cat("request body larger than ", impl.options.max_body_bytes, " bytes (--max-body-bytes)");
      type = "Validation";
    }
    res.set_content(error_json(message, type, res.status, req.path == "/v1/embeddings"), kJson);
  });
}

Server::~Server() {
  stop();
  impl_->scheduler->stop();
}

int Server::bind() {
  Impl& impl = *impl_;
  const int wanted = impl.options.port;
  const int port = wanted == 0 ? impl.http.bind_to_any_port(impl.options.host)
                               : (impl.http.bind_to_port(impl.options.host, wanted) ? wanted : -1);
  if (port <= 0)
    fail("serve: cannot listen on ", impl.options.host, ":", wanted,
         " (the port is taken, or the host is not an address of this machine)");
  impl.port = port;
  raise_listen_backlog(port);
  return port;
}

void Server::run() {
  Impl& impl = *impl_;
  if (impl.port < 0) bind();
  // stop() may come before the listening loop has started: this watcher stops
  // the loop once it runs, so a SIGTERM during start-up is never lost.
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished) {
      if (impl.stopping && impl.http.is_running()) {
        impl.http.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  if (!impl.stopping) impl.http.listen_after_bind();  // returns once stopped and the HTTP threads are joined
  finished = true;
  watcher.join();
  impl.scheduler->stop();  // every queued request was answered by now
}

void Server::stop() { impl_->stopping = true; }

}  // namespace qp::serve
