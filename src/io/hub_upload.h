// Uploading files to a Hugging Face hub model repo over the hub's HTTP API,
// as huggingface_hub's upload_folder does it: create the repo (an existing
// one is fine), create the branch when the revision is not main, ask the hub
// which files go through LFS (preupload), put those through the LFS batch API
// (a PUT of the bytes to the URL the hub hands out, then its verify call),
// and make one commit holding every file (NDJSON: a header line, then the
// regular files' bytes in base64 and the LFS files' pointers).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/hub_client.h"

namespace qp {

struct UploadFile {
  std::string path;                    // in the repo, '/'-separated
  std::filesystem::path local;         // the bytes: this file, unless...
  std::optional<std::string> content;  // ...these are given (a generated model card)
};

struct HubUploadRequest {
  std::string repo;               // "owner/name"
  std::string revision = "main";  // a branch (created when missing) or refs/pr/N
  bool private_repo = false;      // for a repo created now; an existing one keeps its visibility
  std::string summary;            // the commit's title
  std::string description;
  std::vector<UploadFile> files;
  bool progress = false;  // a bar per LFS upload on stderr (the CLI asks when it is a terminal)
};

struct HubCommit {
  std::string url, oid;                   // as the hub answers (commitUrl, commitOid)
  std::vector<std::string> regular, lfs;  // committed paths, by how they went
  size_t lfs_uploaded = 0;                // LFS objects the hub did not hold yet
};

// "owner/name" with the hub's characters; throws qp::Error saying what is wrong.
void check_hub_repo_id(const std::string& repo);

// Throws qp::Error (before any request is made) when the options hold no token.
void require_hub_token(const HubClientOptions& options, const std::string& what);

// Every regular file under dir (links followed), '/'-separated relative paths,
// sorted; hidden files and folders (.git, .cache …) and atomic-write
// temporaries left out.
std::vector<UploadFile> files_in_dir(const std::filesystem::path& dir);

// The user (or organization) name the token belongs to (GET /api/whoami-v2).
std::string hub_user_name(const HubClient& client);

// Uploads request.files in one commit. Throws qp::Error naming the repo and
// the file or step on any failure.
HubCommit upload_to_hub(const HubUploadRequest& request, const HubClient& client);

}  // namespace qp
