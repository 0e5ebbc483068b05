// Zero-shot classification with an NLI model, as the Hugging Face
// zero-shot-classification pipeline does it: each text is paired with the
// hypothesis template filled with each candidate label (premise = text,
// hypothesis = "This example is {label}."). With multi_label=False the scores
// of one text are the softmax of its entailment logits across the candidate
// labels; with multi_label=True (or a single candidate) each label's score is
// the softmax of its own [contradiction, entailment] logits, where, as in the
// pipeline, "contradiction" is the first label, or the last when entailment
// is the first.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quantpipe/model.h"

namespace qp::eval {

// Tokens of one encoding (attention mask ones, i.e. without padding).
int64_t count_tokens(const Encoding& encoding);

// The template with its first "{}" replaced by the label.
std::string fill_hypothesis(const std::string& hypothesis_template, const std::string& label);

// The index of the model's entailment label (matched case-insensitively, so
// "ENTAILMENT" counts). Throws naming the model's labels when it has none.
int entailment_index(const Model& model);

struct ZeroShotResult {
  std::vector<std::vector<float>> entailment_logits;  // [text][candidate]
  std::vector<std::vector<float>> scores;             // softmax of each row
  std::vector<int> predicted;  // arg-max candidate per text; -1 when a score is not finite
  int64_t tokens = 0;          // tokens of every pair
};

// The (premise, hypothesis) pairs of texts × candidate labels, text-major:
// pair t·k + c is text t with label c. Throws when there are no candidate
// labels or the template has no {}.
std::vector<TextInput> zero_shot_pairs(const std::vector<std::string>& texts,
                                       const std::vector<std::string>& candidate_labels,
                                       const std::string& hypothesis_template);

// Scores from the model's logits of those pairs (one row per pair, in
// zero_shot_pairs' order); `tokens` is left 0.
ZeroShotResult zero_shot_scores(const Model& model, const std::vector<std::vector<float>>& pair_logits,
                                size_t num_texts, const std::vector<std::string>& candidate_labels,
                                bool multi_label);

// Runs texts × candidate_labels pairs through the model in batches of
// options.batch_size. Throws when there are no candidate labels.
ZeroShotResult zero_shot_classify(const Model& model, const std::vector<std::string>& texts,
                                  const std::vector<std::string>& candidate_labels,
                                  const std::string& hypothesis_template, const RunOptions& options,
                                  bool multi_label = false);

// One result as transformers' zero-shot-classification pipeline prints it:
// {"sequence", "labels", "scores"}, labels highest score first (ties keep
// the candidate order), a non-finite score as null.
nlohmann::ordered_json zero_shot_json(const std::string& text,
                                      const std::vector<std::string>& candidate_labels,
                                      const std::vector<float>& scores);

}  // namespace qp::eval
