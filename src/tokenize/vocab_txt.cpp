// Fallback when a model has no tokenizer.json: vocab.txt (one WordPiece token a
// line, id = line number) and tokenizer_config.json (do_lower_case, strip_accents,
// tokenize_chinese_chars, special tokens, max_length / model_max_length) give the
// BERT pipeline transformers builds: BertNormalizer, BertPreTokenizer, WordPiece
// and [CLS] A [SEP] B [SEP] (MPNet / RoBERTa classes: <s> A </s></s> B </s>).
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_read.h"
#include "tokenize/tokenizer_impl.h"
#include "tokenize/unicode.h"
#include "tokenize/wordpiece.h"

namespace qp::tok {

namespace {

using nlohmann::json;

Vocab read_vocab(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail(path.string(), ": cannot open");
  Vocab vocab;
  std::string line;
  int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.emplace(line, id++);  // the first of duplicate lines keeps its id
  }
  if (vocab.empty()) fail(path.string(), ": the vocabulary is empty");
  return vocab;
}

json read_config(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return json::object();
  return read_json_object_file(path);
}

// A special token given as "[CLS]" or {"content": "[CLS]", ...}.
std::string special_name(const JsonFields& config, const char* key, const char* fallback) {
  const json* value = config.find(key);
  if (!value) return fallback;
  if (value->is_object()) return JsonFields(*value, config.file(), key).string_or("content", fallback);
  return config.string(key);
}

}  // namespace

TokenizerParts load_vocab_txt(const std::filesystem::path& dir) {
  const auto config_path = dir / "tokenizer_config.json";
  try {
    const json config_json = read_config(config_path);
    const JsonFields config(config_json, config_path.string());
    const std::string cls_class = config.string_or("tokenizer_class", "BertTokenizer");
    const bool roberta_like =
        cls_class.find("MPNet") != std::string::npos || cls_class.find("Roberta") != std::string::npos;
    const std::string unk = special_name(config, "unk_token", "[UNK]");
    const std::string cls = special_name(config, "cls_token", roberta_like ? "<s>" : "[CLS]");
    const std::string sep = special_name(config, "sep_token", roberta_like ? "</s>" : "[SEP]");
    const std::string pad = special_name(config, "pad_token", roberta_like ? "<pad>" : "[PAD]");
    const std::string mask = special_name(config, "mask_token", roberta_like ? "<mask>" : "[MASK]");

    TokenizerParts parts;
    parts.model = std::make_unique<WordPiece>(read_vocab(dir / "vocab.txt"), unk, "##", 100);

    BertNormalizerOptions norm;
    norm.lowercase = config.boolean_or("do_lower_case", true);
    norm.strip_accents = config.boolean_or("strip_accents", norm.lowercase);
    norm.handle_chinese_chars = config.boolean_or("tokenize_chinese_chars", true);
    parts.normalizer = make_bert_normalizer(norm);
    parts.pre_tokenizer = make_bert_pre_tokenizer();

    for (const std::string& name : {pad, unk, cls, sep, mask}) {
      AddedToken t;
      t.content = decode_utf8(name);
      t.id = parts.model->token_to_id(name);
      t.special = true;
      if (t.id >= 0) parts.added_tokens.add(std::move(t));
    }

    const int32_t cls_id = parts.model->token_to_id(cls);
    const int32_t sep_id = parts.model->token_to_id(sep);
    if (cls_id < 0 || sep_id < 0)
      fail("special tokens '", cls, "' / '", sep, "' are not in ", (dir / "vocab.txt").string());
    parts.post_processor =
        roberta_like ? PostProcessor::roberta(cls_id, sep_id) : PostProcessor::bert(cls_id, sep_id);

    // transformers writes model_max_length 1e30 for "no limit": only a sane number truncates.
    const json* length = nullptr;
    if (const json* v = config.find("max_length"); v && v->is_number()) length = v;
    if (const json* v = config.find("model_max_length"); !length && v && v->is_number()) length = v;
    if (length && length->get<double>() > 0 && length->get<double>() <= 1e6)
      parts.truncation = Truncation{static_cast<int>(length->get<double>())};

    parts.pad_id = std::max(parts.model->token_to_id(pad), 0);
    return parts;
  } catch (const Error& e) {
    fail("[tokenizer] ", e.what());
  }
}

}  // namespace qp::tok
