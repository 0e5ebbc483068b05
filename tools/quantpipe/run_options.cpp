#include "run_options.h"

#include <charconv>
#include <limits>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"

namespace qp::cli {

namespace {
// Parses an integer option and checks it against [minimum, maximum].
std::string range_problem(const std::string& value, int64_t minimum, int64_t maximum) {
  int64_t parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error == std::errc::result_out_of_range)
    return "must be at most " + std::to_string(maximum) + ", got " + value;
  if (error != std::errc() || end != value.data() + value.size())
    return "expected an integer, got '" + value + "'";
  if (parsed < minimum) return "must be at least " + std::to_string(minimum) + ", got " + value;
  if (parsed > maximum) return "must be at most " + std::to_string(maximum) + ", got " + value;
  return {};
}
}  // namespace

CLI::Validator at_least(int minimum) {
  const std::string name = minimum == 0   ? "NONNEGATIVE"
                           : minimum == 1 ? "POSITIVE"
                                          : ">=" + std::to_string(minimum);
  return CLI::Validator(
      [minimum](std::string& value) {
        return range_problem(value, minimum, std::numeric_limits<int>::max());
      },
      name);
}

CLI::Validator in_range(int minimum, int maximum) {
  return CLI::Validator(
      [minimum, maximum](std::string& value) { return range_problem(value, minimum, maximum); },
      "INT in [" + std::to_string(minimum) + " - " + std::to_string(maximum) + "]");
}

CLI::Validator thread_count() { return in_range(0, max_threads()); }

void add_model_run_options(CLI::App& app, ModelRunArgs& args, const std::string& input_help) {
  app.add_option(
         "-m,--model", args.model,
         "Hugging Face model directory (or a quantpipe native directory), or a hub id org/name[@revision]")
      ->required();
  app.add_option("-i,--input", args.input, input_help);
  app.add_option("-t,--threads", args.threads,
                 "Worker threads (default: all cores; at most " + std::to_string(max_threads()) + ")")
      ->check(thread_count());
  app.add_option("-b,--batch-size", args.batch_size,
                 "Sequences per forward pass (results are written per batch)")
      ->capture_default_str()
      ->check(in_range(1, kMaxBatchSize));
  app.add_option(
         "--max-length", args.max_length,
         "Truncate to this many tokens (default: sentence_bert_config.json's max_seq_length, else the "
         "tokenizer's setting, else 512)")
      ->check(in_range(0, kMaxTokens));
  app.add_option("--dump-tensors", args.dump_tensors,
                 "Write every named intermediate tensor (embeddings, each layer's attention and FFN "
                 "outputs, head) to this safetensors file, for layer-by-layer comparison");
}

int resolve_max_length(const Model& model, int requested) {
  if (requested <= 0) {
    const int length = model.default_max_length();
    log_debug("truncating at ", length, " tokens (the model's default; --max-length changes it)");
    return length;
  }
  const int positions = model.info().max_positions;
  if (requested > positions)
    fail("--max-length ", requested, " is more than the ", positions,
         " tokens the model takes (max_position_embeddings in ", (model.path() / "config.json").string(),
         ")");
  return requested;
}

std::vector<Encoding> tokenize_records(const Model& model, const std::vector<InputRecord>& records,
                                       const std::string& source, int max_length) {
  std::vector<Encoding> encodings;
  encodings.reserve(records.size());
  for (const InputRecord& record : records)
    encodings.push_back(record.ids ? *record.ids : with_line_context(source, record.line_number, [&] {
      return encode_input(model.tokenizer(), record.input, max_length);
    }));
  return encodings;
}

void NonFiniteResults::add(const InputRecord& record, bool finite) {
  ++total_;
  if (finite) return;
  if (bad_++ == 0) first_line_ = record.line_number;
}

void NonFiniteResults::finish() const {
  if (bad_ == 0) return;
  fail(source_, ": ", bad_, " of ", total_, " results hold NaN or infinite values (first at line ",
       first_line_,
       "); they were written as null, without a label. The model's output cannot be trusted: check its "
       "weights "
       "(quantpipe inspect) or its input length");
}

}  // namespace qp::cli
