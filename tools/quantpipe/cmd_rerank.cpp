// quantpipe rerank: a query and its passages → the passages sorted by how
// well they answer it, scored by a cross-encoder (one logit per (query,
// passage) pair, through the model's score function: a sigmoid). Output is
// TEI's /rerank shape, one JSON line per query:
//   [{"index": 2, "score": 0.93, "text": "…"}, {"index": 0, "score": 0.41, "text": "…"}, …]
// Input: JSONL {"query": "…", "passages": ["…", …]}, one query per line; or
// --query TEXT with the passages one per line (or JSONL {"text"}).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "checked_output.h"
#include "command.h"
#include "core/json_fields.h"
#include "core/json_read.h"
#include "core/log.h"
#include "eval/ranking.h"
#include "io/tensor_dump.h"
#include "run_options.h"

namespace qp::cli {

namespace {

struct Passage {
  int64_t line_number = 0;  // where it was read, for errors
  std::string text;
};

struct Query {
  int64_t line_number = 0;
  std::string text;
  std::vector<Passage> passages;
};

// A multi-label head has no single relevance score; picking one of its
// labels silently would rank by the wrong thing.
void require_one_logit(const Model& model) {
  const int labels = model.info().num_labels;
  if (labels == 1) return;
  const std::string config = (model.path() / "config.json").string();
  if (labels == 0)
    fail(model.path().string(),
         ": the model has no classification head; rerank needs a cross-encoder (one logit, num_labels 1)");
  fail(config, ": the model has ", labels,
       " labels; rerank needs a cross-encoder with one logit per (query, passage) pair (num_labels 1). Use "
       "classify with {\"text\": query, \"text_pair\": passage} lines to see every label's score");
}

// One JSONL line {"query": "…", "passages": ["…", …]}.
Query parse_query_line(const std::string& source, const InputLine& line) {
  const std::string where = cat(source, ":", line.line_number);
  const nlohmann::json doc = parse_json(line.text, where);
  if (!doc.is_object())
    fail(where, ": expected a JSON object {\"query\": …, \"passages\": […]}, found ", json_kind(doc));
  const JsonFields fields(doc, where);
  Query query{line.line_number, fields.string("query"), {}};
  const nlohmann::json& passages = fields.array("passages");
  if (passages.empty()) fields.error("passages", "is empty; a query needs at least one passage");
  for (size_t i = 0; i < passages.size(); ++i)
    query.passages.push_back({line.line_number, fields.string_value(passages[i], cat("passages[", i, "]"))});
  return query;
}

// Scores every passage of one query and writes the sorted list.
void rerank_query(const Model& model, const Query& query, const std::string& source, const ModelRunArgs& args,
                  int max_length, NonFiniteResults& non_finite) {
  std::vector<Encoding> encodings;
  encodings.reserve(query.passages.size());
  for (const Passage& passage : query.passages)
    encodings.push_back(with_line_context(source, passage.line_number, [&] {
      return encode_input(model.tokenizer(), {query.text, passage.text}, max_length);
    }));
  const auto logits = model.logits_for_encodings(encodings, args.batch_size);
  std::vector<std::optional<float>> scores;
  for (size_t i = 0; i < logits.size(); ++i) {
    const Classification c = classification_from_logits(logits[i], model.labels(), model.score_function());
    non_finite.add({query.passages[i].line_number, {}}, c.has_label());
    scores.push_back(c.has_label() ? std::optional(c.scores[0]) : std::nullopt);
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i : eval::order_by_score(scores))
    out.push_back({{"index", i},
                   {"score", scores[i] ? nlohmann::json(*scores[i]) : nlohmann::json()},
                   {"text", query.passages[i].text}});
  std::cout << out.dump() << "\n";
  flush_results();
}

}  // namespace

Action configure_rerank(CLI::App& app) {
  struct Args {
    ModelRunArgs run;
    std::optional<std::string> query;
  };
  auto args = std::make_shared<Args>();
  add_model_run_options(
      app, args->run,
      "Input file (default: standard input): JSONL {\"query\": …, \"passages\": […]}, one "
      "query per line; with --query, the passages, one per line (or JSONL {\"text\"}); lines "
      "up to 1 MiB");
  app.add_option("--query", args->query, "The query; the input then holds its passages, one per line");
  return [args] {
    Model model = Model::load(resolve_model_source(args->run.model), {args->run.threads});
    require_one_logit(model);
    TensorDumpSink dump;
    if (!args->run.dump_tensors.empty()) model.set_tensor_sink(&dump);
    const int max_length = resolve_max_length(model, args->run.max_length);
    log_info("reranking with ", model.threads(), " threads, ", args->run.batch_size, " pairs per batch");
    const auto finish = [&](const NonFiniteResults& non_finite) {
      if (!args->run.dump_tensors.empty()) dump.write(args->run.dump_tensors);
      non_finite.finish();
      return 0;
    };
    if (args->query) {
      TextInputReader reader(args->run.input);
      NonFiniteResults non_finite(reader.name());
      Query query{0, *args->query, {}};
      for (InputRecord record; reader.next(record);) {
        if (record.input.text_pair)
          fail(reader.name(), ":", record.line_number,
               ": a passage is one text; \"text_pair\" has no place in rerank's input");
        query.passages.push_back({record.line_number, std::move(record.input.text)});
      }
      rerank_query(model, query, reader.name(), args->run, max_length, non_finite);
      return finish(non_finite);
    }
    LineReader lines(args->run.input);
    NonFiniteResults non_finite(lines.name());
    bool any = false;
    for (InputLine line; lines.next(line);) {
      if (line.text.find_first_not_of(" \t\r\f\v") == std::string::npos) continue;
      any = true;
      rerank_query(model, parse_query_line(lines.name(), line), lines.name(), args->run, max_length,
                   non_finite);
    }
    if (!any)
      fail(lines.name(), ": no queries (expected JSONL {\"query\": …, \"passages\": […]} lines, or --query)");
    return finish(non_finite);
  };
}

}  // namespace qp::cli
