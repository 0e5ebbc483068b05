#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace qp {
namespace {

// The index of the class named `label` (case-insensitively), added when new.
size_t class_index(std::vector<ClassStats>& classes, const std::string& label) {
  for (size_t i = 0; i < classes.size(); ++i)
    if (same_label(classes[i].name, label)) return i;
  classes.push_back({.name = label});
  return classes.size() - 1;
}

void finish_class(ClassStats& c) {
  const double tp = static_cast<double>(c.true_positive);
  c.precision = c.predicted ? tp / static_cast<double>(c.predicted) : 0.0;
  c.recall = c.gold ? tp / static_cast<double>(c.gold) : 0.0;
  c.f1 = c.precision + c.recall > 0 ? 2 * c.precision * c.recall / (c.precision + c.recall) : 0.0;
}

}  // namespace

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool same_label(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lowercase(a) == lowercase(b);
}

ClassificationReport classification_report(const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& gold) {
  if (predicted.size() != gold.size())
    fail("classification report: ", predicted.size(), " predictions for ", gold.size(), " gold labels");
  if (gold.empty()) fail("classification report: no examples (the dataset is empty)");
  ClassificationReport report;
  report.total = static_cast<int64_t>(gold.size());
  for (size_t i = 0; i < gold.size(); ++i) {
    if (gold[i].empty()) fail("classification report: example ", i + 1, " has no gold label");
    report.classes[class_index(report.classes, gold[i])].gold += 1;
  }
  for (size_t i = 0; i < gold.size(); ++i) {
    if (predicted[i].empty()) {
      ++report.invalid;
      continue;
    }
    ClassStats& c = report.classes[class_index(report.classes, predicted[i])];
    c.predicted += 1;
    if (same_label(predicted[i], gold[i])) {
      c.true_positive += 1;
      ++report.correct;
    }
  }
  double f1_sum = 0;
  for (ClassStats& c : report.classes) {
    finish_class(c);
    f1_sum += c.f1;
  }
  report.accuracy = static_cast<double>(report.correct) / static_cast<double>(report.total);
  report.macro_f1 = f1_sum / static_cast<double>(report.classes.size());
  return report;
}

double accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& gold) {
  if (predicted.size() != gold.size())
    fail("accuracy: ", predicted.size(), " predictions for ", gold.size(), " gold labels");
  if (gold.empty()) fail("accuracy: no examples");
  size_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) correct += predicted[i] == gold[i];
  return static_cast<double>(correct) / static_cast<double>(gold.size());
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2)
    fail("pearson: need two equal-length series of at least 2 values");
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return 0;
  return sxy / std::sqrt(sxx * syy);
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson(average_ranks(x), average_ranks(y));
}

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / std::sqrt(na * nb);
}

}  // namespace qp
