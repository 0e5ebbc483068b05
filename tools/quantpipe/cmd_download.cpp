// quantpipe download: fetch the files a conversion needs from the Hugging Face
// hub into the shared huggingface_hub cache and print the snapshot directory.
#include <iostream>
#include <memory>

#include "command.h"
#include "io/hub_download.h"

namespace qp::cli {
namespace {

struct DownloadArgs {
  std::string model, revision;
  std::vector<std::string> include;
};

}  // namespace

Action configure_download(CLI::App& app) {
  auto args = std::make_shared<DownloadArgs>();
  app.add_option("model", args->model, "Hub model id: org/name or org/name@revision")->required();
  app.add_option("--revision", args->revision, "Branch, tag or commit sha (default: main, or the @revision)");
  app.add_option("--include", args->include,
                 "Also fetch the repo's files matching this glob (repeatable; '*' matches '/' too, as in "
                 "huggingface-cli), e.g. --include 'README.md' --include 'onnx/*'");
  app.footer(
      "Fetches config.json, the weights (model*.safetensors, else pytorch_model*.bin), the tokenizer files\n"
      "and sentence-transformers modules into the huggingface_hub cache ($HF_HUB_CACHE, else $HF_HOME/hub,\n"
      "else ~/.cache/huggingface/hub) and prints the snapshot directory. HF_ENDPOINT, HF_TOKEN and\n"
      "HF_HUB_OFFLINE=1 are honoured; a partial file is resumed on the next run.");
  return [args] {
    HubRepoRef ref = parse_hub_ref(args->model);
    if (!args->revision.empty()) ref.revision = args->revision;
    HubDownloadOptions options = hub_download_options_from_env();
    options.include = args->include;
    std::cout << download_hub_model(ref, options).string() << "\n";
    return 0;
  };
}

}  // namespace qp::cli
