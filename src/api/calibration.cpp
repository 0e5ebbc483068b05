#include "api/calibration.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <random>
#include <set>

#include "api/calibration_corpus.h"
#include "core/error.h"
#include "eval/datasets.h"
#include "models/tiny_model.h"
#include "quantpipe/model.h"

namespace qp {
namespace fs = std::filesystem;

namespace {

// What each linear role multiplies, as the layer code names it (layer_parts.cpp).
struct RoleInput {
  TensorRole role;
  const char* input;  // after "layer.<N>."
};
constexpr RoleInput kRoleInputs[] = {
    {TensorRole::AttnQ, "qkv_in"},         {TensorRole::AttnK, "qkv_in"}, {TensorRole::AttnV, "qkv_in"},
    {TensorRole::AttnOut, "attn_context"}, {TensorRole::FfnUp, "ffn_in"}, {TensorRole::FfnGate, "ffn_in"},
    {TensorRole::FfnDown, "ffn_up"},
};

constexpr const char* kTextColumns[] = {"text", "sentence", "sentence1", "premise", "query", "question"};
constexpr const char* kPairColumns[] = {"text_pair", "sentence2", "hypothesis", "passage"};

// The first of `candidates` among `columns`, or "".
std::string first_present(const std::set<std::string>& columns, std::span<const char* const> candidates) {
  for (const char* c : candidates)
    if (columns.count(c)) return c;
  return "";
}

std::set<std::string> header_columns(const fs::path& file, char separator) {
  std::ifstream in(file);
  std::string header;
  std::getline(in, header);
  std::set<std::string> columns;
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(separator, start);
    if (end == std::string::npos) end = header.size();
    std::string name = header.substr(start, end - start);
    if (!name.empty() && name.back() == '\r') name.pop_back();
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    columns.insert(name);
    start = end + 1;
  }
  return columns;
}

std::set<std::string> jsonl_columns(const fs::path& file) {
  std::ifstream in(file);
  std::set<std::string> columns;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json first = nlohmann::json::parse(line, nullptr, false);
    if (first.is_object())
      for (const auto& item : first.items()) columns.insert(item.key());
    break;
  }
  return columns;
}

// Text rows, and pre-tokenized JSONL rows ({"input_ids": [...]}, as
// `quantpipe tokenize` prints them) for models without tokenizer files.
std::vector<LabelledExample> read_calibration_rows(const fs::path& file) {
  if (!fs::is_regular_file(file)) fail(file.string(), ": calibration file not found");
  const std::string ext = file.extension().string();
  const bool jsonl = ext == ".jsonl" || ext == ".json", tsv = ext == ".tsv", csv = ext == ".csv";
  std::vector<LabelledExample> texts;
  if (jsonl || tsv || csv) {
    const std::set<std::string> columns =
        jsonl ? jsonl_columns(file) : header_columns(file, tsv ? '\t' : ',');
    ColumnMapping mapping;
    mapping.text = first_present(columns, kTextColumns);
    mapping.text_pair = first_present(columns, kPairColumns);
    mapping.label = "";
    if (jsonl && mapping.text.empty() && columns.count("input_ids")) mapping.text = "text";  // pre-tokenized
    if (mapping.text.empty())
      fail(file.string(),
           ": no text column for calibration (looked for text, sentence, sentence1, premise, query, "
           "question)");
    const std::vector<LabelledExample> rows = jsonl ? read_jsonl_dataset(file, mapping)
                                              : tsv ? read_tsv_dataset(file, mapping)
                                                    : read_csv_dataset(file, mapping);
    texts = rows;
  } else {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) texts.push_back({TextInput{line, std::nullopt}});
    }
  }
  if (texts.empty()) fail(file.string(), ": the calibration file holds no texts");
  return texts;
}

// Every `count`-th row, spread evenly (as sample_evenly does for datasets).
std::vector<LabelledExample> spread(std::vector<LabelledExample> texts, int count) {
  if (count <= 0 || static_cast<size_t>(count) >= texts.size()) return texts;
  std::vector<LabelledExample> picked;
  for (int i = 0; i < count; ++i) picked.push_back(texts[static_cast<size_t>(i) * texts.size() / count]);
  return picked;
}

// Accumulates H for each wanted activation name as batches pass.
class HessianSink : public TensorSink {
 public:
  void want(const std::string& name) { wanted_.insert(name); }
  void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) override {
    if (!wanted_.count(name)) return;
    auto [it, fresh] = hessians_.try_emplace(name, nullptr);
    if (fresh) it->second = std::make_shared<quant::HessianAccumulator>(cols);
    it->second->add(data, rows);
    stats_.try_emplace(name, cols).first->second.add(data, rows);
  }
  const std::map<std::string, quant::ActivationStats>& stats() const { return stats_; }
  std::shared_ptr<const quant::HessianAccumulator> find(const std::string& name) const {
    const auto it = hessians_.find(name);
    return it == hessians_.end() ? nullptr : it->second;
  }

 private:
  std::set<std::string> wanted_;
  std::map<std::string, std::shared_ptr<quant::HessianAccumulator>> hessians_;
  std::map<std::string, quant::ActivationStats> stats_;
};

}  // namespace

std::optional<std::string> linear_input_name(TensorRole role, int layer) {
  if (layer < 0) return std::nullopt;
  for (const RoleInput& entry : kRoleInputs)
    if (entry.role == role) return "layer." + std::to_string(layer) + "." + entry.input;
  return std::nullopt;
}

std::vector<TextInput> synthetic_calibration_texts(int count) {
  std::vector<std::string> words;
  for (const std::string& w : tiny_bert_vocab())
    if (w.size() > 2 && std::isalpha(static_cast<unsigned char>(w[0]))) words.push_back(w);
  std::mt19937 rng(20261203);  // fixed: the same text every run
  std::vector<TextInput> texts;
  for (int i = 0; i < count; ++i) {
    std::string line;
    const int length = 6 + static_cast<int>(rng() % 9);
    for (int j = 0; j < length; ++j) line += (j ? " " : "") + words[rng() % words.size()];
    texts.push_back({line + ".", std::nullopt});
  }
  return texts;
}

CalibrationSet read_calibration_set(const Model& model, const CalibrationOptions& options) {
  const bool named = options.file == "corpus" || options.file == "synthetic";
  const bool synthetic = options.file == "synthetic";
  const bool corpus =
      !synthetic && options.texts.empty() && (options.file.empty() || options.file == "corpus");
  std::vector<LabelledExample> rows;
  if (!options.file.empty() && !named) {
    rows = read_calibration_rows(options.file);
  } else if (synthetic) {
    for (const TextInput& text : synthetic_calibration_texts(options.samples)) rows.push_back({text});
  } else if (corpus) {
    for (const std::string& line : calibration_corpus()) rows.push_back({TextInput{line, std::nullopt}});
  } else {
    for (const TextInput& text : options.texts) rows.push_back({text});
  }
  rows = spread(std::move(rows), options.samples);
  if (rows.empty()) fail(model.path().string(), ": no calibration text (", options.step, ")");
  std::vector<TextInput> texts;
  CalibrationSet set;
  for (LabelledExample& row : rows) {
    if (row.ids)
      set.encodings.push_back(std::move(*row.ids));
    else
      texts.push_back(std::move(row.input));
  }
  if (!texts.empty())
    for (Encoding& e : model.tokenize(texts, options.max_length)) set.encodings.push_back(std::move(e));
  int64_t tokens = 0;
  for (const Encoding& e : set.encodings) tokens += static_cast<int64_t>(e.input_ids.size());
  std::string from = options.step;
  if (from.empty())
    from = synthetic              ? "synthetic text"
           : corpus               ? "shipped corpus"
           : options.file.empty() ? "given texts"
                                  : "file";
  set.info = {{"source", from},
              {"file", options.file.empty() || named ? "" : fs::absolute(options.file).string()},
              {"rows", rows.size()},
              {"tokens", tokens},
              {"max_length", options.max_length}};
  return set;
}

CalibrationResult collect_hessians(const fs::path& source, const std::vector<quant::PlannedTensor>& plan,
                                   const CalibrationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Model model = Model::load(source, {options.threads});
  CalibrationSet set = read_calibration_set(model, options);
  HessianSink sink;
  for (const quant::PlannedTensor& t : plan)
    if (t.scheme && t.role)
      if (auto input = linear_input_name(*t.role, t.layer)) sink.want(*input);
  model.set_tensor_sink(&sink);
  model.embed_encodings(set.encodings, options.batch_size);
  model.set_tensor_sink(nullptr);

  CalibrationResult result;
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [name, stats] : sink.stats()) inputs[name] = stats.to_json();
  for (const quant::PlannedTensor& t : plan) {
    if (!t.scheme || !t.role) continue;
    if (auto input = linear_input_name(*t.role, t.layer))
      if (auto h = sink.find(*input)) {
        result.hessians[t.name] = h;
        inputs[*input]["consumers"].push_back(t.name);
      }
  }
  result.info = std::move(set.info);
  result.info["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.activation_stats = {{"calibration", result.info}, {"inputs", std::move(inputs)}};
  return result;
}

}  // namespace qp
