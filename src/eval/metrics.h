// Task metrics: accuracy, a classification report (per-class precision,
// recall, F1 and macro-F1), Pearson and Spearman correlation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qp {

// Fraction of positions where predicted == gold. Throws on size mismatch or empty input.
double accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Pearson of ranks, ties given their average rank (scipy.stats.spearmanr).
double spearman(const std::vector<double>& x, const std::vector<double>& y);
std::vector<double> average_ranks(const std::vector<double>& values);
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

// Label names are compared case-insensitively (ASCII): models spell
// "ENTAILMENT" where datasets spell "entailment".
bool same_label(std::string_view a, std::string_view b);
std::string lowercase(std::string_view text);

struct ClassStats {
  std::string name;  // the gold spelling when the class occurs in gold, else the predicted one
  int64_t gold = 0, predicted = 0, true_positive = 0;
  double precision = 0;  // true_positive / predicted; 0 when never predicted
  double recall = 0;     // true_positive / gold; 0 when absent from gold
  double f1 = 0;         // 2·P·R / (P + R); 0 when P + R = 0
};

struct ClassificationReport {
  int64_t total = 0, correct = 0;
  int64_t invalid = 0;  // predictions that were missing or invalid (counted as wrong)
  double accuracy = 0;  // correct / total
  // Unweighted mean of F1 over every class that occurs in gold or in the
  // valid predictions (sklearn f1_score(average="macro") with zero_division=0).
  double macro_f1 = 0;
  std::vector<ClassStats> classes;  // gold classes in first-seen order, then predicted-only ones
};

// Scores predicted against gold labels. An empty predicted string stands for
// a missing or invalid prediction (e.g. non-finite logits): wrong, counted in
// `invalid`, and no class. Throws on a size mismatch, on no examples, and on
// an empty gold label.
ClassificationReport classification_report(const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& gold);

}  // namespace qp
