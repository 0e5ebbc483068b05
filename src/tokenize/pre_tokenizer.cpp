#include "tokenize/pre_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "tokenize/byte_level.h"
#include "tokenize/unicode.h"

namespace qp::tok {

std::unique_ptr<PreTokenizer> make_metaspace(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_split(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_punctuation(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_digits(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_whitespace(const JsonFields& spec);
std::unique_ptr<PreTokenizer> make_char_delimiter_split(const JsonFields& spec);

namespace {

// Splits on whitespace (removed) and, when isolate_punctuation, on punctuation (kept alone).
template <bool isolate_punctuation>
void split_spans(Words& w) {
  w.next.clear();
  for (const auto& [begin, end] : w.spans) {
    size_t start = begin;
    for (size_t i = begin; i < end; ++i) {
      const char32_t cp = w.text[i];
      if (is_whitespace(cp)) {
        if (start < i) w.next.emplace_back(start, i);
        start = i + 1;
      } else if (isolate_punctuation && is_bert_punctuation(cp)) {
        if (start < i) w.next.emplace_back(start, i);
        w.next.emplace_back(i, i + 1);
        start = i + 1;
      }
    }
    if (start < end) w.next.emplace_back(start, end);
  }
  w.spans.swap(w.next);
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(Words& w) const override { split_spans<true>(w); }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void split(Words& w) const override { split_spans<false>(w); }
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void split(Words& w) const override {
    for (const auto& step : steps_) step->split(w);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

std::unique_ptr<PreTokenizer> make_sequence(const JsonFields& spec) {
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  const nlohmann::json& list = spec.array("pretokenizers");
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(make_pre_tokenizer(
        JsonFields(list[i], spec.file(), cat(spec.key_path("pretokenizers"), "[", i, "]"))));
  return std::make_unique<SequencePreTokenizer>(std::move(steps));
}

struct PreTokenizerKind {
  const char* type;
  std::unique_ptr<PreTokenizer> (*make)(const JsonFields&);
};
constexpr PreTokenizerKind kPreTokenizers[] = {
    {"BertPreTokenizer", [](const JsonFields&) { return make_bert_pre_tokenizer(); }},
    {"WhitespaceSplit",
     [](const JsonFields&) -> std::unique_ptr<PreTokenizer> { return std::make_unique<WhitespaceSplit>(); }},
    {"Whitespace", make_whitespace},
    {"ByteLevel", [](const JsonFields& s) { return make_byte_level(s); }},
    {"Metaspace", make_metaspace},
    {"Split", make_split},
    {"Punctuation", make_punctuation},
    {"Digits", make_digits},
    {"CharDelimiterSplit", make_char_delimiter_split},
    {"Sequence", make_sequence},
};

}  // namespace

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  const auto* kind = std::find_if(std::begin(kPreTokenizers), std::end(kPreTokenizers),
                                  [&](const PreTokenizerKind& k) { return type == k.type; });
  if (kind == std::end(kPreTokenizers)) {
    std::string names;
    for (const auto& k : kPreTokenizers) names += std::string(names.empty() ? "" : ", ") + k.type;
    spec.error("type", "is ", json_excerpt(type), ", an unsupported pre-tokenizer (supported: ", names, ")");
  }
  return kind->make(spec);
}

}  // namespace qp::tok
