// A small fake Hugging Face hub on 127.0.0.1 for the download tests (cpp-httplib,
// in a thread of the test): the model-info API, the file tree, resolve/ with a
// redirect for weights to an absolute "CDN" URL (X-Linked-Etag and
// X-Linked-Size on the 302, as the hub does for LFS files), ETags and
// X-Repo-Commit, renamed repos (a relative 307), gated repos (401 without the right token) and injected
// faults: 429s and a connection dropped mid-file. The upload endpoints (repo
// creation, preupload, LFS, commits) are in fake_hub_upload.h, installed on the
// same server; a commit to main is served for download too. No test touches
// the internet.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_hub_upload.h"
#include "io/sha256_file.h"

namespace qp::test {

struct FakeRepo {
  std::string sha = "0123456789abcdef0123456789abcdef01234567";
  std::map<std::string, std::string> files;  // rfilename → content
  bool gated = false;                        // 401 unless "Bearer <FakeHub::kToken>"
};

class FakeHub {
 public:
  static constexpr const char* kToken = "hf_fake_token";

  FakeHub() {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/revision/([^/]+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(mutex_);
      const FakeRepo* repo = find(req, res, req.matches[1]);
      if (!repo) return;
      const std::string rev = req.matches[2];
      if (rev != "main" && rev != repo->sha) return not_found(res, "Revision Not Found");
      nlohmann::json info = {
          {"id", std::string(req.matches[1])}, {"sha", repo->sha}, {"siblings", nlohmann::json::array()}};
      for (const auto& [name, content] : repo->files) info["siblings"].push_back({{"rfilename", name}});
      res.set_content(info.dump(), "application/json");
    });
    // The repo's file tree (huggingface_hub's snapshot_download lists it), one page.
    server_.Get(R"(/api/models/([^/]+/[^/]+)/tree/([^/]+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(mutex_);
      const FakeRepo* repo = find(req, res, req.matches[1]);
      if (!repo) return;
      const std::string rev = req.matches[2];
      if (rev != "main" && rev != repo->sha) return not_found(res, "Revision Not Found");
      nlohmann::json tree = nlohmann::json::array();
      std::set<std::string> folders;
      for (const auto& [name, content] : repo->files) {
        for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
          if (folders.insert(name.substr(0, slash)).second)
            tree.push_back({{"type", "directory"},
                            {"oid", etag_of(name.substr(0, slash), "git")},
                            {"size", 0},
                            {"path", name.substr(0, slash)}});
        nlohmann::json entry = {
            {"type", "file"}, {"oid", etag_of(content, "git")}, {"size", content.size()}, {"path", name}};
        if (is_weights(name))
          entry["lfs"] = {{"oid", etag_of(content, "lfs")}, {"size", content.size()}, {"pointerSize", 134}};
        tree.push_back(entry);
      }
      res.set_content(tree.dump(), "application/json");
    });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))", [this](const auto& req, auto& res) {
      std::lock_guard lock(mutex_);
      const FakeRepo* repo = find(req, res, req.matches[1]);
      if (!repo) return;
      const std::string file = req.matches[3];
      const auto it = repo->files.find(file);
      if (it == repo->files.end()) return not_found(res, "Entry Not Found");
      if (is_weights(file)) {  // large files: a redirect to the "CDN", the blob name on the 302
        res.status = 302;
        res.set_header("Location", cdn_endpoint() + "/cdn/" + std::string(req.matches[1]) + "/" + file);
        res.set_header("X-Linked-Etag", "\"" + etag_of(it->second, "lfs") + "\"");
        res.set_header("X-Linked-Size", std::to_string(it->second.size()));
        res.set_header("X-Repo-Commit", repo->sha);
        return;
      }
      res.set_header("ETag", "W/\"" + etag_of(it->second, "git") + "\"");
      res.set_header("X-Repo-Commit", repo->sha);
      res.set_content(it->second, "application/octet-stream");
    });
    server_.Get(R"(/cdn/([^/]+/[^/]+)/(.+))", [this](const auto& req, auto& res) {
      std::unique_lock lock(mutex_);
      const std::string file = req.matches[2];
      if (req.method == "HEAD") cdn_heads++;
      if (req.method == "GET") {
        requests[file]++;
        ranges[file] = req.get_header_value("Range");
      }
      if (req.method == "GET" && fail_429[file] > 0) {
        fail_429[file]--;
        res.status = 429;
        return;
      }
      std::string content = repos[req.matches[1]].files[file];
      if (corrupt[file]) content[content.size() / 2] ^= 1;
      res.set_header("ETag", "\"cdn-etag-not-the-blob-name\"");
      const bool drop = req.method == "GET" && drop_first[file];
      if (drop) drop_first[file] = false;
      res.set_content_provider(
          content.size(), "application/octet-stream",
          [content, drop](size_t offset, size_t length, httplib::DataSink& sink) {
            // Half the file, then the connection closes.
            if (drop)
              return sink.write(content.data() + offset, std::min(length, content.size() / 2)) && false;
            return sink.write(content.data() + offset, length);
          });
    });
    uploads.on_main_commit = [this](const std::string& repo, const std::map<std::string, std::string>& files,
                                    const std::string& oid) {
      FakeRepo& served = repos[repo];
      served.files = files;
      served.sha = oid;
    };
    uploads.install(
        server_, mutex_, [this] { return endpoint(); }, kToken);
    // A proxy from the environment must not get between libcurl (here and in
    // the quantpipe children, which inherit this) and the fake hub.
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // /usr/bin/env arguments for a quantpipe child that talks to this hub with
  // its cache in `hf_home`: the caller's HF_TOKEN, HF_HUB_CACHE and HF_HUB_OFFLINE cleared.
  std::vector<std::string> client_env(const std::filesystem::path& hf_home) const {
    return {"-u",
            "HF_TOKEN",
            "-u",
            "HF_HUB_CACHE",
            "-u",
            "HF_HUB_OFFLINE",
            "HF_ENDPOINT=" + endpoint(),
            "HF_HOME=" + hf_home.string()};
  }
  // The same server under another host name: another origin, as the real
  // CDN is, so clients treat the redirect as leaving the hub.
  std::string cdn_endpoint() const { return "http://localhost:" + std::to_string(port_); }

  static bool is_weights(const std::string& file) {
    return file.find(".safetensors") != std::string::npos || file.find(".bin") != std::string::npos;
  }
  // A stand-in for the hub's sha256 / git-sha1 etags: distinct per content.
  // LFS files: the content's SHA-256, as the hub's X-Linked-Etag; others a
  // stand-in for the git blob sha1, distinct per content.
  static std::string etag_of(const std::string& content, const std::string& kind) {
    return kind == "lfs" ? sha256_hex_of(content) : kind + std::to_string(std::hash<std::string>{}(content));
  }

  // Serves every file under dir (relative names with '/') as repo.
  void add_repo_from_dir(const std::string& repo, const std::filesystem::path& dir, bool gated = false) {
    FakeRepo r;
    r.gated = gated;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      r.files[std::filesystem::relative(entry.path(), dir).generic_string()] = text.str();
    }
    std::lock_guard lock(mutex_);
    repos[repo] = r;
  }

  std::mutex mutex_;
  std::map<std::string, FakeRepo> repos;
  std::map<std::string, std::string> renamed;  // old repo id → new one
  std::map<std::string, int> fail_429;         // file → 429 answers before serving it
  std::map<std::string, bool> drop_first;      // file → drop the first GET halfway
  std::map<std::string, bool> corrupt;         // file → serve it with one bit flipped
  std::map<std::string, int> requests;         // file → GETs at the CDN
  int cdn_heads = 0;                           // HEADs at the CDN (huggingface_hub 2.x sends them)
  std::map<std::string, std::string> ranges;   // file → Range header of the latest GET
  FakeUploads uploads;                         // what was uploaded (fake_hub_upload.h)

 private:
  const FakeRepo* find(const httplib::Request& req, httplib::Response& res, const std::string& name) {
    if (const auto moved = renamed.find(name); moved != renamed.end()) {  // a relative redirect, as the hub's
      std::string path = req.path;
      path.replace(path.find(name), name.size(), moved->second);
      res.status = 307;
      res.set_header("Location", path);
      return nullptr;
    }
    const auto it = repos.find(name);
    if (it == repos.end()) {
      not_found(res, "Repository Not Found");
      return nullptr;
    }
    if (it->second.gated && req.get_header_value("Authorization") != std::string("Bearer ") + kToken) {
      res.status = 401;
      res.set_content("Access to this gated repo is restricted", "text/plain");
      return nullptr;
    }
    return &it->second;
  }
  static void not_found(httplib::Response& res, const std::string& why) {
    res.status = 404;
    res.set_content(why, "text/plain");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace qp::test
