// quantpipe tokenize: JSONL {"text", "text_pair"} or plain lines → JSONL
// {"input_ids", "token_type_ids"} (+ "tokens" with --tokens), no padding, written as
// the input streams in.
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.h"
#include "command.h"
#include "io/model_dir.h"
#include "quantpipe/model.h"
#include "run_options.h"

namespace qp::cli {

Action configure_tokenize(CLI::App& app) {
  struct Args {
    std::string model, input;
    int max_length = 0;
    bool tokens = false;
  };
  auto args = std::make_shared<Args>();
  app.add_option(
         "-m,--model", args->model,
         "Model directory holding tokenizer.json (or vocab.txt, vocab.json + merges.txt, spm.model), or a "
         "hub id org/name[@revision]")
      ->required();
  app.add_option("-i,--input", args->input,
                 "Input file (default: standard input): JSONL {\"text\", \"text_pair\"} when the first line "
                 "starts with '{', else one text per line; lines up to 1 MiB");
  app.add_option(
         "--max-length", args->max_length,
         "Truncate to this many tokens (default: sentence_bert_config.json's max_seq_length, as embed "
         "uses, else the tokenizer's, else 512)")
      ->check(in_range(0, kMaxTokens));
  app.add_flag("--tokens", args->tokens, "Also print the token strings (\"tokens\")");
  return [args] {
    const std::filesystem::path model = resolve_model_source(args->model);  // a hub id → its snapshot
    const Tokenizer tokenizer = Tokenizer::from_dir(model);
    // The length embed cuts at (Model::default_max_length), without loading weights.
    const int max_length =
        args->max_length > 0
            ? args->max_length
            : read_sentence_bert_max_seq_length(model).value_or(tokenizer.default_max_length().value_or(512));
    TextInputReader reader(args->input);
    int64_t written = 0;
    for (InputRecord record; reader.next(record);) {
      const Encoding enc = with_line_context(reader.name(), record.line_number, [&] {
        if (record.ids) fail("the line is already tokenized (\"input_ids\"); tokenize reads text");
        return encode_input(tokenizer, record.input, max_length);
      });
      nlohmann::ordered_json out = {{"input_ids", enc.input_ids}, {"token_type_ids", enc.token_type_ids}};
      if (args->tokens) {
        nlohmann::ordered_json& tokens = out["tokens"] = nlohmann::ordered_json::array();
        for (int32_t id : enc.input_ids) tokens.push_back(tokenizer.id_to_token(id).value_or(""));
      }
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      // Written when the input makes us wait, and often enough that a full
      // disk stops the run soon.
      if (++written % 256 == 0 || !reader.ready()) flush_results();
    }
    return 0;
  };
}

}  // namespace qp::cli
