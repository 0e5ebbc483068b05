// The upload half of the fake hub (tests/unit/fake_hub.h installs it on its
// server): repo creation, whoami, branches, preupload, the LFS batch API with
// a "storage" URL for the PUT (presigned: it refuses a request carrying the
// hub token, as S3 does) and the verify call, and the NDJSON commit API. It
// keeps what arrives, so tests can compare bytes, commit headers and which
// files went through LFS. Every hub endpoint answers 401 without
// "Authorization: Bearer <token>".
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/sha256_file.h"

namespace qp::test {

struct FakeCommit {
  std::string oid, branch, summary, description;
  std::vector<std::string> regular, lfs;  // paths, by how they arrived
};

struct FakeUploadRepo {
  bool is_private = false;
  std::map<std::string, std::map<std::string, std::string>> branches = {
      {"main", {}}};  // branch → path → bytes
  std::vector<FakeCommit> commits;
};

class FakeUploads {
 public:
  static constexpr const char* kUser = "fake-user";
  static constexpr const char* kLfsType = "application/vnd.git-lfs+json";

  // Called with every commit to main: the download side serves the new files.
  std::function<void(const std::string& repo, const std::map<std::string, std::string>& files,
                     const std::string& oid)>
      on_main_commit;

  std::map<std::string, FakeUploadRepo> repos;
  std::map<std::string, std::string> lfs_store;  // oid → bytes, once PUT
  std::set<std::string> verified;                // oids verified
  std::map<std::string, int> fail_5xx;           // endpoint ("create", "preupload", "batch", "put",
                                                 // "verify", "commit") → 503 answers first
  std::map<std::string, int> calls;              // endpoint → requests (the failed ones included)
  int64_t lfs_threshold = 10 * 1000 * 1000;      // preupload: at least this many bytes → "lfs"
  std::string last_preupload_sample;             // decoded, of the latest preupload's first file
  httplib::Headers put_headers;                  // of the latest LFS PUT

  void install(httplib::Server& server, std::mutex& mutex, std::function<std::string()> endpoint,
               std::string token) {
    mutex_ = &mutex;
    endpoint_ = std::move(endpoint);
    token_ = std::move(token);
    server.Get("/api/whoami-v2", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!authorized(req, res)) return;
      res.set_content(nlohmann::json({{"name", kUser}, {"type", "user"}}).dump(), "application/json");
    });
    server.Post("/api/repos/create", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("create", req, res)) return;
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("name") || body.value("type", "model") != "model")
        return error(res, 400, "bad create request");
      const std::string org = body.value("organization", std::string(kUser));
      const std::string repo = org + "/" + body["name"].get<std::string>();
      if (repos.count(repo)) return error(res, 409, "You already created this model repo");
      repos[repo].is_private = body.value("private", false);
      res.set_content(nlohmann::json({{"url", endpoint_() + "/" + repo}}).dump(), "application/json");
    });
    server.Post(R"(/api/models/([^/]+/[^/]+)/branch/(.+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("branch", req, res)) return;
      FakeUploadRepo* repo = find(req.matches[1], res);
      if (!repo) return;
      const std::string branch = decode_revision(req.matches[2]);
      if (repo->branches.count(branch)) return error(res, 409, "Reference already exists");
      repo->branches[branch] = repo->branches["main"];
      res.set_content("{}", "application/json");
    });
    server.Post(R"(/api/models/([^/]+/[^/]+)/preupload/(.+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("preupload", req, res)) return;
      FakeUploadRepo* repo = find(req.matches[1], res);
      if (!repo) return;
      if (!repo->branches.count(decode_revision(req.matches[2])))
        return error(res, 404, "Revision Not Found");
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("files")) return error(res, 400, "no files");
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : body["files"]) {
        const std::string path = f.at("path");
        const std::string sample = base64_decode(f.at("sample"));
        if (files.empty()) last_preupload_sample = sample;
        const bool lfs = f.at("size").get<int64_t>() >= lfs_threshold || is_lfs_pattern(path);
        files.push_back({{"path", path}, {"uploadMode", lfs ? "lfs" : "regular"}, {"shouldIgnore", false}});
      }
      res.set_content(nlohmann::json({{"files", files}}).dump(), "application/json");
    });
    server.Post(R"(/([^/]+/[^/]+)\.git/info/lfs/objects/batch)", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("batch", req, res)) return;
      if (!find(req.matches[1], res)) return;
      if (req.get_header_value("Accept") != kLfsType || req.get_header_value("Content-Type") != kLfsType)
        return error(res, 406, "LFS requests need the git-lfs media type");
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object() || body.value("operation", "") != "upload" || !body.contains("transfers") ||
          std::find(body["transfers"].begin(), body["transfers"].end(), "basic") == body["transfers"].end())
        return error(res, 422, "bad batch request");
      nlohmann::json objects = nlohmann::json::array();
      for (const auto& o : body.at("objects")) {
        const std::string oid = o.at("oid");
        nlohmann::json out = {{"oid", oid}, {"size", o.at("size")}};
        if (!lfs_store.count(oid))
          out["actions"] = {
              {"upload",
               {{"href", endpoint_() + "/lfs-storage/" + oid + "?signature=ok"},
                {"header", {{"x-fake-sig", "signed"}}}}},
              {"verify",
               {{"href", endpoint_() + "/" + std::string(req.matches[1]) + ".git/info/lfs/objects/verify"},
                {"header", {{"x-verify-token", "v"}}}}}};
        objects.push_back(out);
      }
      res.set_content(nlohmann::json({{"transfer", "basic"}, {"objects", objects}}).dump(), kLfsType);
    });
    server.Put(R"(/lfs-storage/([0-9a-f]{64}))", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      ++calls["put"];
      if (fail("put", res)) return;
      // Presigned: its own signature, and no second authentication.
      if (req.has_header("Authorization") || req.get_param_value("signature") != "ok")
        return error(res, 400, "bad signature or a second authentication");
      const std::string oid = req.matches[1];
      if (sha256_hex_of(req.body) != oid) return error(res, 400, "content does not match its oid");
      lfs_store[oid] = req.body;
      put_headers = req.headers;
    });
    server.Post(R"(/([^/]+/[^/]+)\.git/info/lfs/objects/verify)", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("verify", req, res)) return;
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object()) return error(res, 400, "bad verify");
      const auto it = lfs_store.find(body.value("oid", ""));
      if (it == lfs_store.end() || static_cast<int64_t>(it->second.size()) != body.value("size", int64_t(-1)))
        return error(res, 404, "object not found");
      verified.insert(it->first);
    });
    server.Post(R"(/api/models/([^/]+/[^/]+)/commit/(.+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(*mutex_);
      if (!enter("commit", req, res)) return;
      const std::string name = req.matches[1];
      FakeUploadRepo* repo = find(name, res);
      if (!repo) return;
      const std::string branch = decode_revision(req.matches[2]);
      if (!repo->branches.count(branch)) return error(res, 404, "Revision Not Found");
      if (req.get_header_value("Content-Type") != "application/x-ndjson")
        return error(res, 415, "commits are NDJSON");
      FakeCommit commit;
      commit.branch = branch;
      std::map<std::string, std::string> files = repo->branches[branch];
      std::istringstream lines(req.body);
      std::string line;
      bool header = false;
      while (std::getline(lines, line)) {
        const nlohmann::json op = nlohmann::json::parse(line, nullptr, false);
        if (!op.is_object()) return error(res, 400, "a line is not JSON");
        const std::string key = op.value("key", "");
        const nlohmann::json& v = op["value"];
        if (!header) {
          if (key != "header") return error(res, 400, "the first line must be the header");
          header = true;
          commit.summary = v.value("summary", "");
          commit.description = v.value("description", "");
        } else if (key == "file") {
          if (v.value("encoding", "") != "base64") return error(res, 400, "unknown encoding");
          files[v.at("path")] = base64_decode(v.at("content"));
          commit.regular.push_back(v.at("path"));
        } else if (key == "lfsFile") {
          const auto blob = lfs_store.find(v.value("oid", ""));
          if (v.value("algo", "") != "sha256" || blob == lfs_store.end() ||
              static_cast<int64_t>(blob->second.size()) != v.value("size", int64_t(-1)))
            return error(res, 422, "LFS object not uploaded: " + v.value("path", std::string()));
          files[v.at("path")] = blob->second;
          commit.lfs.push_back(v.at("path"));
        } else {
          return error(res, 400, "unknown key " + key);
        }
      }
      if (!header) return error(res, 400, "empty commit");
      commit.oid = sha256_hex_of(name + branch + std::to_string(repo->commits.size())).substr(0, 40);
      repo->branches[branch] = files;
      repo->commits.push_back(commit);
      if (branch == "main" && on_main_commit) on_main_commit(name, files, commit.oid);
      res.set_content(nlohmann::json({{"commitUrl", endpoint_() + "/" + name + "/commit/" + commit.oid},
                                      {"commitOid", commit.oid}})
                          .dump(),
                      "application/json");
    });
  }

  // RFC 4648 base64, written here independently of quantpipe's encoder.
  static std::string base64_decode(const std::string& text) {
    std::string out;
    int bits = 0;
    unsigned value = 0;
    for (char c : text) {
      int digit = -1;
      if (c >= 'A' && c <= 'Z') digit = c - 'A';
      if (c >= 'a' && c <= 'z') digit = c - 'a' + 26;
      if (c >= '0' && c <= '9') digit = c - '0' + 52;
      if (c == '+') digit = 62;
      if (c == '/') digit = 63;
      if (digit < 0) continue;  // padding
      value = (value << 6) | static_cast<unsigned>(digit);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((value >> bits) & 0xff);
      }
    }
    return out;
  }

 private:
  // Counts the call, applies an injected 503, checks the token.
  bool enter(const std::string& endpoint, const httplib::Request& req, httplib::Response& res) {
    ++calls[endpoint];
    if (fail(endpoint, res)) return false;
    return authorized(req, res);
  }
  bool fail(const std::string& endpoint, httplib::Response& res) {
    if (fail_5xx[endpoint] <= 0) return false;
    --fail_5xx[endpoint];
    error(res, 503, "Service Unavailable");
    return true;
  }
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer " + token_) return true;
    error(res, 401, "Invalid credentials in Authorization header");
    return false;
  }
  FakeUploadRepo* find(const std::string& name, httplib::Response& res) {
    const auto it = repos.find(name);
    if (it != repos.end()) return &it->second;
    error(res, 404, "Repository not found");
    return nullptr;
  }
  static bool is_lfs_pattern(const std::string& path) {
    for (const char* ext : {".safetensors", ".bin", ".npz"})
      if (path.size() >= std::strlen(ext) &&
          path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
        return true;
    return false;
  }
  static std::string decode_revision(std::string text) {
    for (size_t at = text.find("%2F"); at != std::string::npos; at = text.find("%2F"))
      text.replace(at, 3, "/");
    return text;
  }
  static void error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json({{"error", message}}).dump(), "application/json");
  }

  std::mutex* mutex_ = nullptr;
  std::function<std::string()> endpoint_;
  std::string token_;
};

}  // namespace qp::test
