// quantpipe embed: texts → JSONL {"embedding": [...]}, in input order, written
// batch by batch as the input streams in.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
#include "command.h"
#include "core/log.h"
#include "io/tensor_dump.h"
#include "run_options.h"

namespace qp::cli {

namespace {
const std::map<std::string, PoolingMode> kPoolingNames = {{"cls", PoolingMode::Cls},
                                                          {"mean", PoolingMode::Mean},
                                                          {"max", PoolingMode::Max},
                                                          {"mean_sqrt_len", PoolingMode::MeanSqrtLen}};
}  // namespace

Action configure_embed(CLI::App& app) {
  struct Args {
    ModelRunArgs run;
    std::optional<PoolingMode> pooling;
    bool normalize = false;
  };
  auto args = std::make_shared<Args>();
  add_model_run_options(app, args->run);
  app.add_option(
         "--pooling", args->pooling,
         "Override pooling (default: the model's 1_Pooling, else mean): cls, mean, max, mean_sqrt_len")
      ->transform(CLI::CheckedTransformer(kPoolingNames, CLI::ignore_case));
  app.add_flag("--normalize", args->normalize,
               "L2-normalise embeddings (sentence-transformers models say so themselves)");
  return [args] {
    Model model = Model::load(args->run.model, {args->run.threads});
    EmbeddingHead head = model.embedding_head();
    if (args->pooling) head.pooling = *args->pooling;
    if (args->normalize) head.normalize = true;
    model.set_embedding_head(head);
    const int max_length = resolve_max_length(model, args->run.max_length);
    TextInputReader reader(args->run.input);
    TensorDumpSink dump;
    if (!args->run.dump_tensors.empty()) model.set_tensor_sink(&dump);
    log_info("embedding with ", model.threads(), " threads, ", args->run.batch_size, " texts per batch");
    std::vector<InputRecord> batch;
    NonFiniteResults non_finite(reader.name());
    while (reader.next_batch(batch, args->run.batch_size)) {
      const auto encodings = tokenize_records(model.tokenizer(), batch, reader.name(), max_length);
      const auto embeddings = model.embed_encodings(encodings, args->run.batch_size);
      for (size_t i = 0; i < embeddings.size(); ++i) {
        non_finite.add(batch[i], std::all_of(embeddings[i].begin(), embeddings[i].end(),
                                             [](float v) { return std::isfinite(v); }));
        std::cout << nlohmann::json{{"embedding", embeddings[i]}}.dump() << "\n";
      }
      flush_results();
    }
    if (!args->run.dump_tensors.empty()) dump.write(args->run.dump_tensors);
    non_finite.finish();
    return 0;
  };
}

}  // namespace qp::cli
