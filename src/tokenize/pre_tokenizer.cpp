#include "tokenize/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "tokenize/unicode.h"

namespace qp::tok {

namespace {

// Splits on whitespace (removed) and, when isolate_punctuation, on punctuation (kept alone).
template <bool isolate_punctuation>
void split_spans(const std::u32string& text, std::vector<Span>& words, std::vector<Span>& scratch) {
  scratch.clear();
  for (const auto& [begin, end] : words) {
    size_t start = begin;
    for (size_t i = begin; i < end; ++i) {
      const char32_t cp = text[i];
      if (is_whitespace(cp)) {
        if (start < i) scratch.emplace_back(start, i);
        start = i + 1;
      } else if (isolate_punctuation && is_bert_punctuation(cp)) {
        if (start < i) scratch.emplace_back(start, i);
        scratch.emplace_back(i, i + 1);
        start = i + 1;
      }
    }
    if (start < end) scratch.emplace_back(start, end);
  }
  words.swap(scratch);
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(const std::u32string& text, std::vector<Span>& words,
             std::vector<Span>& scratch) const override {
    split_spans<true>(text, words, scratch);
  }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void split(const std::u32string& text, std::vector<Span>& words,
             std::vector<Span>& scratch) const override {
    split_spans<false>(text, words, scratch);
  }
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}

  void split(const std::u32string& text, std::vector<Span>& words,
             std::vector<Span>& scratch) const override {
    for (const auto& step : steps_) step->split(text, words, scratch);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonFields& spec) {
  const std::string type = spec.string_or("type", "");
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const nlohmann::json& list = spec.array("pretokenizers");
    for (size_t i = 0; i < list.size(); ++i)
      steps.push_back(make_pre_tokenizer(
          JsonFields(list[i], spec.file(), cat(spec.key_path("pretokenizers"), "[", i, "]"))));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  spec.error("type", "is ", json_excerpt(type),
             ", an unsupported pre-tokenizer (supported: BertPreTokenizer, WhitespaceSplit, Sequence)");
}

}  // namespace qp::tok
