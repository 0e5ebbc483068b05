#include "io/hub_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/kill_point.h"

namespace qp {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// curl_global_init is not thread-safe: done once, before the first handle.
void init_curl_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!done) fail("[hub] libcurl failed to initialise");
}

// One transfer's state, shared with libcurl's callbacks.
constexpr int64_t kKillPointBytes = 64 << 10;  // download bytes between kill points

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse response;
  const fs::path* file = nullptr;              // download_to: where the body goes
  int64_t offset = 0;                          // bytes already in *file when the request was sent
  int64_t written = 0;                         // body bytes written to *file by this request
  std::FILE* out = nullptr;                    // opened at the first body byte, once the status is known
  const DownloadProgress* progress = nullptr;  // download_to's callback, if any
  bool write_failed = false;
  int write_errno = 0;       // why, for the message (ENOSPC, EFBIG…)
  std::FILE* in = nullptr;   // send(): the body file, when the body is streamed
  bool read_failed = false;  // ... and a read of it failed
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t.response.headers.emplace_back();
  } else if (const auto colon = line.find(':'); colon != std::string::npos && !t.response.headers.empty()) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    t.response.headers.back()[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  // Error pages and in-memory GETs go to the body; a download to the file,
  // appended after a 206 (the range we asked for), from the start after a 200.
  if (!t.file || status / 100 != 2) {
    t.response.body.append(data, size * count);
    return size * count;
  }
  if (!t.out) {
    t.out = std::fopen(t.file->c_str(), status == 206 ? "ab" : "wb");
    if (!t.out) return t.write_failed = true, t.write_errno = errno, 0;
  }
  if (std::fwrite(data, size, count, t.out) != count) return t.write_failed = true, t.write_errno = errno, 0;
  // A kill point per 64 KiB of the file crossed, not per callback: libcurl's
  // chunks vary from run to run, the crossings do not.
  const int64_t before = t.written;
  t.written += static_cast<int64_t>(size * count);
  for (int64_t k = before / kKillPointBytes; k < t.written / kKillPointBytes; ++k)
    kill_point("download.chunk", *t.file);
  return size * count;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t n = std::fread(buffer, 1, size * count, t.in);
  if (n == 0 && std::ferror(t.in)) return t.read_failed = true, CURL_READFUNC_ABORT;
  return n;
}

int on_transfer_info(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  // Only the file's own body counts: not a redirect's, not an error page's.
  if (!t.out || status / 100 != 2) return 0;
  const int64_t before = status == 206 ? t.offset : 0;
  (*t.progress)(before + static_cast<int64_t>(now), total > 0 ? before + static_cast<int64_t>(total) : 0);
  return 0;
}

int on_upload_info(void* user, curl_off_t, curl_off_t, curl_off_t total, curl_off_t now) {
  const auto& progress = *static_cast<const std::function<void(int64_t, int64_t)>*>(user);
  if (total > 0) progress(static_cast<int64_t>(now), static_cast<int64_t>(total));
  return 0;
}

// A transfer worth trying again: the network dropped or timed out, or the
// server asked us to slow down (429) or failed (5xx).
bool transient(CURLcode code, long status) {
  if (code != CURLE_OK)
    return code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
           code == CURLE_OPERATION_TIMEDOUT || code == CURLE_COULDNT_CONNECT || code == CURLE_GOT_NOTHING ||
           code == CURLE_COULDNT_RESOLVE_HOST;
  return status == 429 || status >= 500;
}

// The hub's own words from an error body ({"error": "..."} or plain text), cut short.
std::string hub_error_text(const std::string& body) {
  std::string text = body;
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) text = doc["error"];
  text = trim(text);
  if (text.size() > 300) text = text.substr(0, 300) + "…";
  return text.empty() || text[0] == '<' || text[0] == '{' ? "" : ": " + text;
}

std::string status_message(long status, const std::string& what, const std::string& endpoint, bool write,
                           const std::string& body) {
  const std::string said = write ? hub_error_text(body) : "";
  if (write && (status == 401 || status == 403))
    return cat(what, ": the hub refused the token (HTTP ", status, said,
               "): HF_TOKEN (or the token file of `huggingface-cli login`) must hold a token with write "
               "access to this repo");
  if (status == 401 || status == 403)
    return cat(what, ": the hub refused access (HTTP ", status,
               "): the repo is gated or private (or does not exist); accept its terms on the hub and set "
               "HF_TOKEN (or run `huggingface-cli login`)");
  if (status == 404)
    return cat(what, ": not found on ", endpoint, " (HTTP 404", said,
               "): check the repo id, the revision and the file");
  return cat(what, ": the hub answered HTTP ", status, said);
}

enum class Mode { get, head, download, send };

HttpResponse perform(const HubClientOptions& options, const HttpRequest& request, Mode mode,
                     const fs::path* file, const std::string& what,
                     const DownloadProgress* progress = nullptr) {
  init_curl_once();
  const std::string& url = request.url;
  for (int attempt = 1;; ++attempt) {
    Transfer t;
    t.curl = curl_easy_init();
    if (!t.curl) fail("[hub] ", what, ": libcurl could not start a transfer");
    t.file = file;
    std::error_code ec;
    if (file && fs::exists(*file, ec)) t.offset = static_cast<int64_t>(fs::file_size(*file, ec));
    curl_slist* headers = nullptr;
    if (!options.token.empty() && request.send_token)
      headers = curl_slist_append(headers, ("Authorization: Bearer " + options.token).c_str());
    for (const std::string& header : request.headers) headers = curl_slist_append(headers, header.c_str());
    curl_easy_setopt(t.curl, CURLOPT_URL, url.c_str());
    // HEAD stops at the first redirect (head() follows the hub's own): the
    // CDN's signed URLs are for GET, and the 302 already holds X-Linked-Etag.
    curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, mode == Mode::head ? 0L : 1L);
    curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "quantpipe");
    curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
    if (mode == Mode::head) curl_easy_setopt(t.curl, CURLOPT_NOBODY, 1L);
    if (progress && *progress) {
      t.progress = progress;
      curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
      curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
    }
    const std::string range = cat(t.offset, "-");
    if (mode == Mode::download && t.offset > 0) curl_easy_setopt(t.curl, CURLOPT_RANGE, range.c_str());
    if (mode == Mode::send) {
      // No "Expect: 100-continue" round trip before large bodies.
      headers = curl_slist_append(headers, "Expect:");
      // A redirected POST (a renamed repo) stays a POST.
      curl_easy_setopt(t.curl, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
      if (request.method == "GET") {
        // no body: an authenticated API read (whoami)
      } else if (request.body_file.empty()) {
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDS, request.body.data());
      } else {
        t.in = std::fopen(request.body_file.c_str(), "rb");
        if (!t.in) {
          curl_slist_free_all(headers);
          curl_easy_cleanup(t.curl);
          fail("[hub] ", what, ": cannot read ", request.body_file.string(), ": ", std::strerror(errno));
        }
        curl_easy_setopt(t.curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(t.curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(t.curl, CURLOPT_READDATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_INFILESIZE_LARGE,
                         static_cast<curl_off_t>(fs::file_size(request.body_file, ec)));
      }
      if (request.method != "GET") curl_easy_setopt(t.curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.progress) {
        curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_upload_info);
        curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &request.progress);
        curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
      }
    }
    curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, headers);
    const CURLcode code = curl_easy_perform(t.curl);
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.response.status);
    if (t.out && std::fclose(t.out) != 0 && !t.write_failed) t.write_failed = true, t.write_errno = errno;
    if (t.in) std::fclose(t.in);
    curl_slist_free_all(headers);
    curl_easy_cleanup(t.curl);
    if (t.write_failed)
      fail("[hub] ", what, ": cannot write ", file->string(), ": ", std::strerror(t.write_errno),
           " (the partial file is resumed on the next run)");
    if (t.read_failed) fail("[hub] ", what, ": read error in ", request.body_file.string());
    // A range past the end: what we hold is stale; start the file over.
    if (mode == Mode::download && t.response.status == 416 && attempt < options.max_attempts) {
      fs::remove(*file, ec);
      continue;
    }
    if (transient(code, t.response.status) && attempt < options.max_attempts) {
      const double wait_s = options.backoff_s * double(1 << std::min(attempt - 1, 10));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
      continue;
    }
    if (code != CURLE_OK)
      fail("[hub] ", what, ": ", curl_easy_strerror(code), " (", url, ", ", attempt, " attempt",
           attempt == 1 ? "" : "s", ")");
    const bool redirect_kept = mode == Mode::head && t.response.status / 100 == 3;
    const bool accepted = std::find(request.accepted.begin(), request.accepted.end(), t.response.status) !=
                          request.accepted.end();
    if (t.response.status / 100 != 2 && !redirect_kept && !accepted)
      fail("[hub] ",
           status_message(t.response.status, what, options.endpoint, mode == Mode::send, t.response.body));
    return t.response;
  }
}

HttpRequest plain(const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  return request;
}

// "http://host:port/a/b" → "http://host:port".
std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  return url.substr(0, url.find('/', scheme == std::string::npos ? 0 : scheme + 3));
}

}  // namespace

std::string url_revision(const std::string& revision) {
  std::string out;
  for (char c : revision) out += c == '/' ? std::string("%2F") : std::string(1, c);
  return out;
}

bool is_commit_sha(const std::string& text) {
  return text.size() == 40 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

HubClientOptions hub_client_options_from_env() {
  HubClientOptions options;
  if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    options.endpoint = endpoint;
  }
  if (const std::string attempts = env("QUANTPIPE_HUB_ATTEMPTS"); !attempts.empty()) {
    char* end = nullptr;
    const long n = std::strtol(attempts.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 100)
      fail("QUANTPIPE_HUB_ATTEMPTS='", attempts, "': expected a whole number of tries from 1 to 100");
    options.max_attempts = static_cast<int>(n);
  }
  options.token = trim(env("HF_TOKEN"));
  if (options.token.empty()) {
    fs::path token_file = env("HF_TOKEN_PATH");
    if (token_file.empty()) {
      const std::string hf_home = env("HF_HOME");
      token_file = hf_home.empty() ? fs::path(env("HOME")) / ".cache" / "huggingface" / "token"
                                   : fs::path(hf_home) / "token";
    }
    std::ifstream in(token_file);
    std::string token;
    if (in >> token) options.token = trim(token);
  }
  return options;
}

std::string HttpResponse::header(const std::string& name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (const auto found = it->find(name); found != it->end()) return found->second;
  return "";
}

HubClient::HubClient(HubClientOptions options) : options_(std::move(options)) {}

HttpResponse HubClient::get(const std::string& url, const std::string& what) const {
  return perform(options_, plain(url), Mode::get, nullptr, what);
}

HttpResponse HubClient::head(const std::string& url, const std::string& what) const {
  // Relative redirects (a renamed repo) are the hub's own and followed; an
  // absolute one (the CDN) ends the chain, as huggingface_hub does it.
  HttpResponse chain;
  std::string current = url;
  for (int hop = 0; hop < 10; ++hop) {
    HttpResponse r = perform(options_, plain(current), Mode::head, nullptr, what);
    chain.status = r.status;
    chain.headers.insert(chain.headers.end(), r.headers.begin(), r.headers.end());
    const std::string location = r.header("location");
    if (r.status / 100 != 3 || location.empty() || location[0] != '/') return chain;
    current = origin_of(current) + location;
  }
  fail("[hub] ", what, ": more than 10 redirects from ", url);
}

HttpResponse HubClient::download_to(const std::string& url, const fs::path& file, const std::string& what,
                                    const DownloadProgress& progress) const {
  return perform(options_, plain(url), Mode::download, &file, what, &progress);
}

HttpResponse HubClient::send(const HttpRequest& request, const std::string& what) const {
  return perform(options_, request, Mode::send, nullptr, what);
}

}  // namespace qp
