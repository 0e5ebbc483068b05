#include "io/hub_upload.h"

#include <strings.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/base64.h"
#include "io/sha256_file.h"
#include "io/transfer_progress.h"

namespace qp {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

// The hub takes at most this many files per preupload call and objects per
// LFS batch; longer lists go in several calls.
constexpr size_t kChunk = 256;
constexpr size_t kSampleBytes = 512;  // what preupload looks at to tell text from binary

const char* const kLfsType = "application/vnd.git-lfs+json";

// A file's bytes and what the hub is told about them.
struct Staged {
  const UploadFile* file = nullptr;
  int64_t size = 0;
  std::string sample;  // the first 512 bytes
  bool lfs = false;    // the preupload answer
  bool ignored = false;
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[hub] cannot read ", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail("[hub] read error in ", path.string());
  return text.str();
}

std::string read_head(const fs::path& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[hub] cannot read ", path.string());
  std::string head(bytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(bytes));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

Staged stage(const UploadFile& file) {
  Staged s;
  s.file = &file;
  if (file.content) {
    s.size = static_cast<int64_t>(file.content->size());
    s.sample = file.content->substr(0, kSampleBytes);
  } else {
    std::error_code ec;
    const auto size = fs::file_size(file.local, ec);
    if (ec) fail("[hub] cannot upload ", file.local.string(), ": ", ec.message());
    s.size = static_cast<int64_t>(size);
    s.sample = read_head(file.local, kSampleBytes);
  }
  return s;
}

std::string bytes_of(const UploadFile& file) { return file.content ? *file.content : read_all(file.local); }

json parse_answer(const HttpResponse& response, const std::string& what) {
  json doc = json::parse(response.body, nullptr, false);
  if (!doc.is_object())
    fail("[hub] ", what, ": the hub's answer is not a JSON object: ", response.body.substr(0, 200));
  return doc;
}

HttpRequest json_post(const std::string& url, const json& body, const char* type = "application/json") {
  HttpRequest request;
  request.url = url;
  request.headers = {cat("Content-Type: ", type), cat("Accept: ", type)};
  request.body = body.dump();
  return request;
}

class Uploader {
 public:
  Uploader(const HubUploadRequest& request, const HubClient& client)
      : r_(request), client_(client), api_(cat(client.options().endpoint, "/api/models/", request.repo)) {}

  HubCommit run() {
    create_repo();
    if (r_.revision != "main" && r_.revision.rfind("refs/pr/", 0) != 0) create_branch();
    std::vector<Staged> staged;
    for (const UploadFile& file : r_.files) staged.push_back(stage(file));
    for (size_t begin = 0; begin < staged.size(); begin += kChunk)
      preupload(staged, begin, std::min(staged.size(), begin + kChunk));
    HubCommit result;
    std::map<const UploadFile*, std::string> oids;
    std::vector<Staged*> lfs;
    for (Staged& s : staged)
      if (s.lfs && !s.ignored) lfs.push_back(&s);
    for (size_t begin = 0; begin < lfs.size(); begin += kChunk)
      result.lfs_uploaded +=
          upload_lfs({lfs.begin() + begin, lfs.begin() + std::min(lfs.size(), begin + kChunk)}, oids);
    commit(staged, oids, result);
    return result;
  }

 private:
  std::string what(const std::string& step) const { return cat(r_.repo, ": ", step); }

  void create_repo() {
    const auto slash = r_.repo.find('/');
    const json body = {{"name", r_.repo.substr(slash + 1)},
                       {"organization", r_.repo.substr(0, slash)},
                       {"private", r_.private_repo},
                       {"type", "model"}};
    HttpRequest request = json_post(cat(client_.options().endpoint, "/api/repos/create"), body);
    request.accepted = {409};  // it exists already: fine, we add a commit to it
    const HttpResponse response = client_.send(request, what("creating the repo"));
    if (response.status == 409)
      log_info("hub: ", r_.repo, " exists; committing to it");
    else
      log_info("hub: created ", r_.private_repo ? "private " : "", "repo ", r_.repo);
  }

  // From the default branch's head; one that exists already (409) is kept as it is.
  void create_branch() {
    HttpRequest request = json_post(cat(api_, "/branch/", url_revision(r_.revision)), json::object());
    request.accepted = {409};
    client_.send(request, what(cat("creating the branch ", r_.revision)));
  }

  void preupload(std::vector<Staged>& staged, size_t begin, size_t end) {
    json files = json::array();
    for (size_t i = begin; i < end; ++i)
      files.push_back({{"path", staged[i].file->path},
                       {"size", staged[i].size},
                       {"sample", base64_encode(staged[i].sample)}});
    const std::string step = "asking which files go through LFS (preupload)";
    const json answer = parse_answer(
        client_.send(json_post(cat(api_, "/preupload/", url_revision(r_.revision)), {{"files", files}}),
                     what(step)),
        what(step));
    std::map<std::string, const json*> by_path;
    if (answer.contains("files") && answer["files"].is_array())
      for (const json& f : answer["files"])
        if (f.is_object() && f.contains("path") && f["path"].is_string()) by_path[f["path"]] = &f;
    for (size_t i = begin; i < end; ++i) {
      const auto it = by_path.find(staged[i].file->path);
      if (it == by_path.end())
        fail("[hub] ", what(step), ": the answer says nothing about ", staged[i].file->path);
      const json& f = *it->second;
      const std::string mode = f.value("uploadMode", "");
      if (mode != "lfs" && mode != "regular")
        fail("[hub] ", what(step), ": unknown uploadMode '", mode, "' for ", staged[i].file->path);
      staged[i].lfs = mode == "lfs";
      staged[i].ignored = f.value("shouldIgnore", false);
    }
  }

  // Returns how many objects were sent (the others the hub held already).
  size_t upload_lfs(const std::vector<Staged*>& files, std::map<const UploadFile*, std::string>& oids) {
    json objects = json::array();
    std::map<std::string, const Staged*> by_oid;
    for (const Staged* s : files) {
      const std::string oid =
          s->file->content ? sha256_hex_of(*s->file->content) : sha256_hex(s->file->local);
      oids[s->file] = oid;
      // Two files with the same bytes are one object.
      if (by_oid.emplace(oid, s).second) objects.push_back({{"oid", oid}, {"size", s->size}});
    }
    const json body = {{"operation", "upload"},
                       {"transfers", {"basic"}},
                       {"objects", objects},
                       {"hash_algo", "sha256"},
                       {"ref", {{"name", r_.revision}}}};
    const std::string step = "LFS batch";
    const json answer = parse_answer(
        client_.send(json_post(cat(client_.options().endpoint, "/", r_.repo, ".git/info/lfs/objects/batch"),
                               body, kLfsType),
                     what(step)),
        what(step));
    if (!answer.contains("objects") || !answer["objects"].is_array())
      fail("[hub] ", what(step), ": the answer has no objects list");
    size_t sent = 0;
    for (const json& object : answer["objects"]) {
      const std::string oid = object.value("oid", "");
      const auto it = by_oid.find(oid);
      if (it == by_oid.end())
        fail("[hub] ", what(step), ": the answer names an object we did not ask for: ", oid);
      const Staged& s = *it->second;
      if (object.contains("error"))
        fail("[hub] ", what(cat("LFS upload of ", s.file->path)), ": ",
             object["error"].value("message", "refused"), " (code ", object["error"].value("code", 0), ")");
      const json actions = object.value("actions", json::object());
      if (!actions.contains("upload")) continue;  // the hub holds these bytes already
      put(s, actions["upload"]);
      if (actions.contains("verify")) verify(s, oid, actions["verify"]);
      ++sent;
    }
    return sent;
  }

  // Action headers as the hub sends them: a map of strings.
  static std::vector<std::string> action_headers(const json& action) {
    std::vector<std::string> headers;
    if (action.contains("header") && action["header"].is_object())
      for (const auto& [name, value] : action["header"].items())
        headers.push_back(cat(name, ": ", value.is_string() ? value.get<std::string>() : value.dump()));
    return headers;
  }

  void put(const Staged& s, const json& action) {
    const std::string step = cat("LFS upload of ", s.file->path);
    if (action.contains("header") && action["header"].is_object() && action["header"].contains("chunk_size"))
      fail("[hub] ", what(step),
           ": the hub asked for a multipart upload, which quantpipe does not do (only "
           "transfers \"basic\" was offered)");
    HttpRequest request;
    request.method = "PUT";
    request.url = action.value("href", "");
    if (request.url.empty()) fail("[hub] ", what(step), ": the upload action has no href");
    request.headers = action_headers(action);
    request.send_token = false;
    if (s.file->content)
      request.body = *s.file->content;
    else
      request.body_file = s.file->local;
    log_info("hub: uploading ", s.file->path, " (", s.size, " bytes) through LFS");
    TransferProgress bar(s.file->path, r_.progress, "upload");
    if (r_.progress) request.progress = [&bar](int64_t sent, int64_t total) { bar.update(sent, total); };
    client_.send(request, what(step));
  }

  void verify(const Staged& s, const std::string& oid, const json& action) {
    HttpRequest request = json_post(action.value("href", ""), {{"oid", oid}, {"size", s.size}}, kLfsType);
    if (request.url.empty()) fail("[hub] ", what("LFS verify"), ": the verify action has no href");
    for (std::string& header : action_headers(action)) {
      // Credentials of its own replace the token: one Authorization header only.
      if (strncasecmp(header.c_str(), "authorization:", 14) == 0) request.send_token = false;
      request.headers.push_back(std::move(header));
    }
    client_.send(request, what(cat("LFS verify of ", s.file->path)));
  }

  void commit(const std::vector<Staged>& staged, const std::map<const UploadFile*, std::string>& oids,
              HubCommit& result) {
    std::string body =
        json({{"key", "header"}, {"value", {{"summary", r_.summary}, {"description", r_.description}}}})
            .dump() +
        "\n";
    for (const Staged& s : staged) {
      if (s.ignored) continue;
      const std::string& path = s.file->path;
      if (s.lfs) {
        body += json({{"key", "lfsFile"},
                      {"value",
                       {{"path", path}, {"algo", "sha256"}, {"oid", oids.at(s.file)}, {"size", s.size}}}})
                    .dump() +
                "\n";
        result.lfs.push_back(path);
      } else {
        body +=
            json({{"key", "file"},
                  {"value",
                   {{"content", base64_encode(bytes_of(*s.file))}, {"path", path}, {"encoding", "base64"}}}})
                .dump() +
            "\n";
        result.regular.push_back(path);
      }
    }
    HttpRequest request;
    request.url = cat(api_, "/commit/", url_revision(r_.revision));
    request.headers = {"Content-Type: application/x-ndjson", "Accept: application/json"};
    request.body = std::move(body);
    const std::string step =
        cat("committing ", result.regular.size() + result.lfs.size(), " files to ", r_.revision);
    const json answer = parse_answer(client_.send(request, what(step)), what(step));
    result.url = answer.value("commitUrl", "");
    result.oid = answer.value("commitOid", "");
  }

  const HubUploadRequest& r_;
  const HubClient& client_;
  const std::string api_;  // <endpoint>/api/models/<repo>
};

bool hidden_or_temporary(const fs::path& relative) {
  for (const fs::path& part : relative) {
    const std::string name = part.string();
    if (name.empty() || name[0] == '.' || name.find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void check_hub_repo_id(const std::string& repo) {
  const auto slash = repo.find('/');
  const auto valid = [](const std::string& part) {
    return !part.empty() && part.size() <= 96 && part.find("..") == std::string::npos && part[0] != '.' &&
           part[0] != '-' && std::all_of(part.begin(), part.end(), [](unsigned char c) {
             return std::isalnum(c) || c == '-' || c == '_' || c == '.';
           });
  };
  if (slash == std::string::npos || !valid(repo.substr(0, slash)) || !valid(repo.substr(slash + 1)))
    fail(
        "'", repo,
        "' is not a hub repo id: expected owner/name (letters, digits, '-', '_', '.'; the owner is your user "
        "or an organization)");
}

void require_hub_token(const HubClientOptions& options, const std::string& what) {
  if (options.token.empty())
    fail("[hub] ", what,
         " needs a token with write access: set HF_TOKEN, or run `huggingface-cli login` (which writes "
         "$HF_HOME/token)");
}

std::vector<UploadFile> files_in_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(dir.string(), ": not a directory");
  std::vector<UploadFile> files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    const fs::path relative = fs::relative(it->path(), dir);
    if (hidden_or_temporary(relative)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back({relative.generic_string(), it->path(), std::nullopt});
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

std::string hub_user_name(const HubClient& client) {
  require_hub_token(client.options(), "finding the token's user name");
  const std::string what = "who the token belongs to (whoami)";
  HttpRequest request;
  request.method = "GET";
  request.url = cat(client.options().endpoint, "/api/whoami-v2");
  const HttpResponse response = client.send(request, what);
  const json doc = parse_answer(response, what);
  const std::string name = doc.value("name", "");
  if (name.empty()) fail("[hub] ", what, ": the answer has no name");
  return name;
}

HubCommit upload_to_hub(const HubUploadRequest& request, const HubClient& client) {
  check_hub_repo_id(request.repo);
  require_hub_token(client.options(), cat("uploading to ", request.repo));
  if (is_commit_sha(request.revision))
    fail("[hub] ", request.repo, ": cannot commit onto commit ", request.revision, "; name a branch");
  if (request.files.empty()) fail("[hub] ", request.repo, ": nothing to upload");
  return Uploader(request, client).run();
}

}  // namespace qp
