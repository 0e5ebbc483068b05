// quantpipe embed: texts → JSONL {"embedding": [...]}, in input order, written
// batch by batch as the input streams in.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
#include "command.h"
#include "core/log.h"
#include "io/tensor_dump.h"
#include "models/pooling.h"
#include "progress_line.h"
#include "run_options.h"

namespace qp::cli {

namespace {

std::string pooling_choices() {
  std::string names;
  for (const auto& [name, mode] : kPoolingModeNames) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

std::optional<PoolingMode> pooling_named(const std::string& text) {
  for (const auto& [name, mode] : kPoolingModeNames)
    if (text == name) return mode;
  return std::nullopt;
}

// "--pooling: expected one of cls, mean, max, mean_sqrt_len, got 'median'"
CLI::Validator pooling_choice() {
  return CLI::Validator(
      [](std::string& value) {
        for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return pooling_named(value) ? std::string()
                                    : "expected one of " + pooling_choices() + ", got '" + value + "'";
      },
      "{" + pooling_choices() + "}");
}

}  // namespace

Action configure_embed(CLI::App& app) {
  struct Args {
    ModelRunArgs run;
    std::string pooling;  // empty: the model's
    bool normalize = false;
  };
  auto args = std::make_shared<Args>();
  add_model_run_options(app, args->run);
  app.add_option("--pooling", args->pooling,
                 "Override pooling (default: the model's 1_Pooling, else mean): one of " + pooling_choices())
      ->transform(pooling_choice());
  app.add_flag("--normalize", args->normalize,
               "L2-normalise embeddings (sentence-transformers models say so themselves)");
  return [args] {
    Model model = Model::load(resolve_model_source(args->run.model), {args->run.threads});
    EmbeddingHead head = model.embedding_head();
    if (!args->pooling.empty()) head.pooling = *pooling_named(args->pooling);
    if (args->normalize) head.normalize = true;
    model.set_embedding_head(head);
    const int max_length = resolve_max_length(model, args->run.max_length);
    TextInputReader reader(args->run.input);
    TensorDumpSink dump;
    if (!args->run.dump_tensors.empty()) model.set_tensor_sink(&dump);
    log_info("embedding with ", model.threads(), " threads, ", args->run.batch_size, " texts per batch");
    std::vector<InputRecord> batch;
    NonFiniteResults non_finite(reader.name());
    ProgressLine progress("embed", "texts");
    while (reader.next_batch(batch, args->run.batch_size)) {
      const auto encodings = tokenize_records(model, batch, reader.name(), max_length);
      const auto embeddings = model.embed_encodings(encodings, args->run.batch_size);
      for (size_t i = 0; i < embeddings.size(); ++i) {
        non_finite.add(batch[i], std::all_of(embeddings[i].begin(), embeddings[i].end(),
                                             [](float v) { return std::isfinite(v); }));
        std::cout << nlohmann::json{{"embedding", embeddings[i]}}.dump() << "\n";
      }
      flush_results();
      progress.add(static_cast<int64_t>(batch.size()));
    }
    progress.clear();
    if (!args->run.dump_tensors.empty()) dump.write(args->run.dump_tensors);
    non_finite.finish();
    return 0;
  };
}

}  // namespace qp::cli
