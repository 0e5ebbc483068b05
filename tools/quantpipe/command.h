// The subcommand table: one row per subcommand, each defined in its own file.
// A row adds its options to a CLI11 subcommand and returns the action to run
// once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace qp::cli {

using Action = std::function<int()>;

struct Command {
  const char* name;
  const char* help;
  Action (*configure)(CLI::App& subcommand);
};

Action configure_tokenize(CLI::App& app);
Action configure_embed(CLI::App& app);
Action configure_classify(CLI::App& app);
Action configure_rerank(CLI::App& app);
Action configure_bench(CLI::App& app);
Action configure_demo(CLI::App& app);
Action configure_convert(CLI::App& app);
Action configure_finetune(CLI::App& app);
Action configure_inspect(CLI::App& app);
Action configure_export(CLI::App& app);
Action configure_import(CLI::App& app);
Action configure_eval(CLI::App& app);
Action configure_pipeline(CLI::App& app);
Action configure_monitor(CLI::App& app);
Action configure_download(CLI::App& app);
Action configure_upload(CLI::App& app);
Action configure_serve(CLI::App& app);

inline const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {"tokenize", "Tokenize JSONL {\"text\", \"text_pair\"} (or plain lines) into input ids",
       configure_tokenize},
      {"embed", "Embed JSONL {\"text\", \"text_pair\"} (or plain lines) into JSONL {\"embedding\": [...]}",
       configure_embed},
      {"classify", "Classify JSONL {\"text\", \"text_pair\"} lines into labels, scores and logits",
       configure_classify},
      {"rerank",
       "Rank passages for a query with a cross-encoder: JSONL {\"query\", \"passages\"} (or --query and one "
       "passage per line) into [{\"index\", \"score\", \"text\"}] sorted by score",
       configure_rerank},
      {"convert",
       "Quantize a Hugging Face model into quantpipe's native format (packed integers, MLX layout)",
       configure_convert},
      {"finetune",
       "Recover what quantization lost: quantization-aware fine-tuning of a converted model, distilled from "
       "its "
       "fp32 source on unlabelled text",
       configure_finetune},
      {"export",
       "Write a converted model as one GGUF file for llama.cpp, carrying quantpipe's codes over unchanged "
       "where "
       "a ggml block type holds them",
       configure_export},
      {"import",
       "Read a GGUF encoder (llama.cpp's or quantpipe's) into a native directory, its quantized blocks kept "
       "as "
       "codes (every command also takes a .gguf path directly)",
       configure_import},
      {"download",
       "Fetch a model's config, weights and tokenizer from the Hugging Face hub into the shared cache and "
       "print the snapshot directory",
       configure_download},
      {"upload",
       "Publish a converted model on the Hugging Face hub in one commit, with a model card holding its "
       "measured metrics and gate results",
       configure_upload},
      {"inspect",
       "List the tensors, dtypes, shapes, schemes and sizes of a model directory or safetensors file",
       configure_inspect},
      {"eval",
       "Evaluate a quantized model against its fp32 baseline on a dataset: task metric, speed, size, memory, "
       "latency, fidelity",
       configure_eval},
      {"pipeline",
       "Run the whole chain from YAML configs: convert, evaluate fp32 vs quantized, quality gates, report",
       configure_pipeline},
      {"monitor", "Follow a running or finished pipeline in the workspace: jobs done/running/failed, ETA",
       configure_monitor},
      {"serve",
       "Serve the model over HTTP (text-embeddings-inference's /embed, /predict, /rerank, /tokenize; "
       "OpenAI's "
       "/v1/embeddings; /zero-shot), batching requests dynamically",
       configure_serve},
      {"bench", "Measure sentences/s, tokens/s and latency of embedding on this machine", configure_bench},
      {"demo",
       "Run the pipeline on the ../shared models and data (else on tiny generated models) and print the "
       "report",
       configure_demo},
  };
  return table;
}

}  // namespace qp::cli
