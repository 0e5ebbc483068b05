// HTTP for the Hugging Face hub, over libcurl: GETs that follow redirects,
// POSTs and PUTs for uploads, all sending the user's token (unless told not
// to), retrying 429 / 5xx / dropped connections with a bounded backoff, and
// turning 401/403/404 into errors that say what to do. Only the transport
// lives here; what to fetch or send is hub_download's and hub_upload's job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace qp {

struct HubClientOptions {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string token;                                // HF_TOKEN or $HF_HOME/token; empty: anonymous
  int max_attempts = 5;                             // per request, first try included
  double backoff_s = 1.0;                           // doubled after each failed attempt
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;  // abort a transfer slower than 1 byte/s for this long
};

// A revision in a URL path: "refs/pr/1" → "refs%2Fpr%2F1", as the hub expects.
std::string url_revision(const std::string& revision);
// 40 hex digits: a commit, not a branch or tag.
bool is_commit_sha(const std::string& text);

// The options the environment asks for: HF_ENDPOINT, HF_TOKEN, else the token
// file $HF_HOME/token (~/.cache/huggingface/token); QUANTPIPE_HUB_ATTEMPTS
// (tries per request, default 5).
HubClientOptions hub_client_options_from_env();

struct HttpResponse {
  long status = 0;
  // Headers of every response in the redirect chain, names lower-cased, the
  // first response first: X-Linked-Etag sits on the hub's 302, ETag on the last.
  std::vector<std::map<std::string, std::string>> headers;
  std::string body;  // empty for head() and download_to()

  // The value of `name` (lower case) from the latest response that has it, else "".
  std::string header(const std::string& name) const;
};

// A request with a method and a body: the hub's JSON APIs (POST) and LFS
// uploads (PUT of a file's bytes).
struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when body_file is empty
  std::filesystem::path body_file;   // else the body, streamed from this file (again on each retry)
  // Presigned storage URLs carry their own signature; the hub token must not
  // travel there (S3 refuses a request authenticated twice).
  bool send_token = true;
  std::vector<long> accepted;  // non-2xx statuses returned instead of thrown (409: already exists)
  // Bytes of the body sent so far and its size, called as it goes (a bar for LFS uploads).
  std::function<void(int64_t sent, int64_t total)> progress;
};

// Bytes of the file so far (a resumed file's earlier part included) and its
// full size (0 while unknown), called as the body arrives.
using DownloadProgress = std::function<void(int64_t done, int64_t total)>;

class HubClient {
 public:
  explicit HubClient(HubClientOptions options);

  const HubClientOptions& options() const { return options_; }

  // GET into memory. `what` names the repo/file for error messages. Statuses
  // other than 2xx after the retries throw qp::Error.
  HttpResponse get(const std::string& url, const std::string& what) const;
  // HEAD: the headers only. Relative redirects are followed; an absolute one
  // (to the CDN) is the last response, its status 3xx.
  HttpResponse head(const std::string& url, const std::string& what) const;
  // GET appended to `file`, resuming from its current size with a Range
  // request, also after a connection dropped mid-transfer.
  HttpResponse download_to(const std::string& url, const std::filesystem::path& file, const std::string& what,
                           const DownloadProgress& progress = {}) const;
  // Any method, with a body unless GET. Statuses other than 2xx (and request.accepted)
  // after the retries throw qp::Error quoting the hub's own error text.
  HttpResponse send(const HttpRequest& request, const std::string& what) const;

 private:
  HubClientOptions options_;
};

}  // namespace qp
