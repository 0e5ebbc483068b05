#include "eval/zero_shot.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "eval/metrics.h"

namespace qp::eval {

int64_t count_tokens(const Encoding& encoding) {
  return std::count(encoding.attention_mask.begin(), encoding.attention_mask.end(), 1);
}

std::string fill_hypothesis(const std::string& hypothesis_template, const std::string& label) {
  std::string out = hypothesis_template;
  const size_t slot = out.find("{}");
  if (slot == std::string::npos)
    fail("hypothesis template '", hypothesis_template, "' has no {} where the label goes");
  out.replace(slot, 2, label);
  return out;
}

int entailment_index(const Model& model) {
  const std::vector<std::string>& labels = model.labels();
  for (size_t i = 0; i < labels.size(); ++i)
    if (same_label(labels[i], "entailment")) return static_cast<int>(i);
  std::string known;
  for (const std::string& label : labels) known += cat(known.empty() ? "" : ", ", label);
  fail(model.path().string(), ": zero-shot needs an NLI model with an 'entailment' label; ",
       "this model's labels are ", known.empty() ? std::string("none") : known, " (id2label in config.json)");
}

std::vector<TextInput> zero_shot_pairs(const std::vector<std::string>& texts,
                                       const std::vector<std::string>& candidate_labels,
                                       const std::string& hypothesis_template) {
  if (candidate_labels.empty()) fail("zero-shot: no candidate labels");
  std::vector<std::string> hypotheses;
  for (const std::string& label : candidate_labels)
    hypotheses.push_back(fill_hypothesis(hypothesis_template, label));
  std::vector<TextInput> pairs;
  pairs.reserve(texts.size() * hypotheses.size());
  for (const std::string& text : texts)
    for (const std::string& hypothesis : hypotheses) pairs.push_back({text, hypothesis});
  return pairs;
}

ZeroShotResult zero_shot_scores(const Model& model, const std::vector<std::vector<float>>& logits,
                                size_t num_texts, const std::vector<std::string>& candidate_labels,
                                bool multi_label) {
  const int entailment = entailment_index(model);
  const size_t k = candidate_labels.size();
  if (logits.size() != num_texts * k)
    fail("zero-shot: ", logits.size(), " rows of logits for ", num_texts, " texts x ", k, " labels");
  const size_t num_labels = model.labels().size();
  const size_t contradiction = entailment == 0 ? num_labels - 1 : 0;
  ZeroShotResult result;
  for (size_t t = 0; t < num_texts; ++t) {
    std::vector<float> row;
    row.reserve(k);
    for (size_t c = 0; c < k; ++c) row.push_back(logits[t * k + c][static_cast<size_t>(entailment)]);
    Classification c = classification_from_logits(row, candidate_labels);
    if (multi_label || k == 1)
      for (size_t j = 0; j < k; ++j) {
        // softmax([contradiction, entailment])[1], computed stably
        const float versus = logits[t * k + j][contradiction];
        c.scores[j] = 1.0f / (1.0f + std::exp(versus - row[j]));
        if (c.has_label() && c.scores[j] > c.scores[static_cast<size_t>(c.label_index)])
          c.label_index = static_cast<int>(j);
      }
    const bool finite =
        std::all_of(c.scores.begin(), c.scores.end(), [](float v) { return std::isfinite(v); });
    result.predicted.push_back(finite ? c.label_index : -1);
    result.scores.push_back(std::move(c.scores));
    result.entailment_logits.push_back(std::move(row));
  }
  return result;
}

ZeroShotResult zero_shot_classify(const Model& model, const std::vector<std::string>& texts,
                                  const std::vector<std::string>& candidate_labels,
                                  const std::string& hypothesis_template, const RunOptions& options,
                                  bool multi_label) {
  entailment_index(model);  // a model without one fails before any work
  const std::vector<Encoding> encodings =
      model.tokenize(zero_shot_pairs(texts, candidate_labels, hypothesis_template), options.max_length);
  int64_t tokens = 0;
  for (const Encoding& encoding : encodings) tokens += count_tokens(encoding);
  ZeroShotResult result = zero_shot_scores(model, model.logits_for_encodings(encodings, options.batch_size),
                                           texts.size(), candidate_labels, multi_label);
  result.tokens = tokens;
  return result;
}

nlohmann::ordered_json zero_shot_json(const std::string& text,
                                      const std::vector<std::string>& candidate_labels,
                                      const std::vector<float>& scores) {
  std::vector<size_t> order(candidate_labels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  nlohmann::ordered_json out = {
      {"sequence", text}, {"labels", nlohmann::json::array()}, {"scores", nlohmann::json::array()}};
  for (size_t i : order) {
    out["labels"].push_back(candidate_labels[i]);
    if (std::isfinite(scores[i]))
      out["scores"].push_back(scores[i]);
    else
      out["scores"].push_back(nullptr);
  }
  return out;
}

}  // namespace qp::eval
