// Task metrics: accuracy, Pearson and Spearman correlation.
#pragma once

#include <string>
#include <vector>

namespace qp {

// Fraction of positions where predicted == gold. Throws on size mismatch or empty input.
double accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Pearson of ranks, ties given their average rank (scipy.stats.spearmanr).
double spearman(const std::vector<double>& x, const std::vector<double>& y);
std::vector<double> average_ranks(const std::vector<double>& values);
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace qp
