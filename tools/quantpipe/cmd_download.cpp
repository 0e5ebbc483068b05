// quantpipe download: fetch the files a conversion needs from the Hugging Face
// hub into the shared huggingface_hub cache and print the snapshot directory.
#include <iostream>
#include <memory>

#include "command.h"
#include "io/hub_download.h"

namespace qp::cli {

Action configure_download(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto revision = std::make_shared<std::string>();
  app.add_option("model", *model, "Hub model id: org/name or org/name@revision")->required();
  app.add_option("--revision", *revision, "Branch, tag or commit sha (default: main, or the @revision)");
  return [model, revision] {
    HubRepoRef ref = parse_hub_ref(*model);
    if (!revision->empty()) ref.revision = *revision;
    std::cout << download_hub_model(ref, hub_download_options_from_env()).string() << "\n";
    return 0;
  };
}

}  // namespace qp::cli
