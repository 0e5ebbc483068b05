// quantpipe export: a converted (or plain Hugging Face) model directory →
// another format. Today: one GGUF file for llama.cpp (docs/GGUF.md).
#include "command.h"
#include "core/error.h"
#include "gguf_export_summary.h"
#include "quantpipe/model.h"

namespace qp::cli {
namespace {

struct ExportArgs {
  std::string model, gguf, type = "auto", source, name;
  bool force = false, list = false;
};

}  // namespace

Action configure_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  app.add_option("model", args->model, "quantpipe's converted directory (or a Hugging Face model directory)")
      ->required();
  app.add_option("--gguf", args->gguf, "Write a GGUF v3 file for llama.cpp here (atomically)")->required();
  app.add_option(
         "--type", args->type,
         "ggml type of the linear weights: auto (carry quantpipe's codes unchanged into the smallest block "
         "type that holds them exactly), or one of Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K, "
         "Q2_K, "
         "TQ2_0, TQ1_0, F16, BF16, F32 (quantized from the source where the codes do not fit; rows too "
         "short for K-quants / TQ fall back as llama-quantize does)")
      ->capture_default_str();
  app.add_option("--source", args->source,
                 "fp32 model to quantize from where codes cannot be carried (default: the source in "
                 "quantpipe.json when it is still there)");
  app.add_option("--name", args->name, "general.name (default: the directory's name)");
  app.add_flag("--force", args->force, "Replace an existing output file");
  app.add_flag("--list", args->list,
               "List every tensor: GGUF name, source tensor, type, carried or quantized");
  return [args] {
    GgufExportOptions options;
    options.type = parse_gguf_type("--type", args->type);
    options.source = args->source;
    options.name = args->name;
    export_gguf_with_summary(resolve_model_source(args->model), args->gguf, options, args->force, args->list);
    return 0;
  };
}

}  // namespace qp::cli
