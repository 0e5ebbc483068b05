// quantpipe import: a GGUF encoder (llama.cpp's or quantpipe's own) → a native
// directory every command runs, its quantized blocks kept as codes.
#include <iostream>

#include "command.h"
#include "gguf/gguf_import.h"

namespace qp::cli {
namespace {

struct ImportArgs {
  std::string gguf, out;
  bool force = false;
};

}  // namespace

Action configure_import(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  app.add_option("gguf", args->gguf, "GGUF file of a BERT-family encoder")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("-o,--out", args->out, "Native directory to write (atomically)")->required();
  app.add_flag("--force", args->force, "Replace an existing output directory");
  return [args] {
    const GgufImportReport report = import_gguf(args->gguf, args->out, args->force);
    std::cout << "wrote " << report.out.string() << " from " << args->gguf << " (GGUF architecture "
              << report.architecture << ", pooling " << report.pooling << ")\n"
              << "  " << report.carried << " tensors with their codes carried, " << report.floats
              << " float tensors\n  tokenizer: " << report.tokenizer << "\n";
    for (const std::string& note : report.notes) std::cout << "  note: " << note << "\n";
    return 0;
  };
}

}  // namespace qp::cli
