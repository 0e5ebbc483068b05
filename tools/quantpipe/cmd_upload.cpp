// quantpipe upload: publish a converted model directory on the Hugging Face
// hub in one commit, with a generated model card (README.md) holding the
// metrics and gate results the pipeline measured for it. Prints the commit.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "core/log.h"
#include "pipeline/publish.h"

namespace qp::cli {
namespace {
namespace fs = std::filesystem;

struct UploadArgs {
  std::string dir, repo, revision = "main", message, workspace;
  bool private_repo = false;
};

}  // namespace

Action configure_upload(CLI::App& app) {
  auto args = std::make_shared<UploadArgs>();
  app.add_option("qdir", args->dir, "A converted model directory (quantpipe convert's --out)")->required();
  app.add_option("repo", args->repo, "Hub repo to commit to: OWNER/NAME (created when missing)")
      ->required()
      ->check([](const std::string& repo) {
        try {
          check_hub_repo_id(repo);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      });
  app.add_flag("--private", args->private_repo,
               "Create the repo private (an existing repo keeps its visibility)");
  app.add_option("--revision", args->revision, "Branch to commit to, created from main when missing")
      ->capture_default_str();
  app.add_option("-m,--message", args->message,
                 "Commit title (default: \"Upload <scheme> model with quantpipe\")");
  app.add_option(
      "--workspace", args->workspace,
      "Pipeline workspace whose measured metrics and gate results go into the model card (default: "
      "the workspace QDIR lies in, if any)");
  app.footer(
      "The token comes from HF_TOKEN, else the token file of `huggingface-cli login` ($HF_HOME/token); it "
      "needs\n"
      "write access. HF_ENDPOINT picks another hub. README.md is always a generated model card (base_model,\n"
      "tags, library_name, pipeline_tag, scheme, size, metrics, gates); QDIR itself is not modified.\n"
      "Files the hub keeps in LFS (weights) go through its LFS batch API. Prints the commit URL and id.");
  return [args] {
    const fs::path dir = args->dir;
    pipeline::PublishRequest request;
    request.model_dir = dir;
    request.repo = args->repo;
    request.revision = args->revision;
    request.private_repo = args->private_repo;
    request.message = args->message;
    request.progress = isatty(STDERR_FILENO) == 1 && log_level() <= LogLevel::Info;
    std::optional<fs::path> workspace =
        args->workspace.empty() ? pipeline::workspace_of(dir) : std::optional<fs::path>(args->workspace);
    if (workspace) {
      request.evaluations = pipeline::find_evaluations(dir, *workspace);
      if (!args->workspace.empty() && request.evaluations.count() == 0)
        fail("--workspace ", args->workspace, ": no evaluation of ", dir.string(),
             " there (run quantpipe pipeline on it first, or leave --workspace out)");
    }
    const HubCommit commit = pipeline::publish_model(request, HubClient(hub_client_options_from_env()));
    std::cerr << "uploaded " << commit.regular.size() + commit.lfs.size() << " files to " << args->repo << "@"
              << args->revision << " (" << commit.lfs.size() << " through LFS, " << commit.lfs_uploaded
              << " new), model card with " << request.evaluations.count() << " evaluation(s)\n";
    std::cout << "commit: " << commit.url << "\noid: " << commit.oid << "\n";
    return 0;
  };
}

}  // namespace qp::cli
