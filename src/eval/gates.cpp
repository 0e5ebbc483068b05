// Quality gates (see gates.h). Each gate is one function returning its result,
// or nothing when its threshold is absent or the task has nothing to measure.
#include "eval/gates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "core/error.h"

namespace qp::eval {
namespace {

// Values exactly at a threshold pass; this slack absorbs the rounding of
// (0.85 − 0.84) · 100 and similar so "exactly" means what a person reads.
constexpr double kSlack = 1e-9;

std::string format(const char* pattern, auto... values) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, pattern, values...);
  return buffer;
}

GateResult make_gate(std::string name, double value, std::optional<double> threshold) {
  GateResult g;
  g.name = std::move(name);
  g.value = value;
  g.threshold = threshold;
  return g;
}

std::optional<GateResult> accuracy_gate(const Comparison& c, const GateThresholds& t) {
  if (!t.max_accuracy_drop) return std::nullopt;
  if (c.baseline.task == EvalTask::Unlabelled || c.baseline.primary_metric.empty()) return std::nullopt;
  // The drop is measured in points (metric × 100), so the fraction becomes points too.
  const double drop = c.accuracy_drop_points, limit = *t.max_accuracy_drop * 100;
  GateResult g = make_gate("accuracy_drop", drop, limit);
  g.passed = std::isfinite(drop) && drop <= limit + kSlack;
  const std::string& metric = c.baseline.primary_metric;
  const std::string measured = drop >= 0 ? format("%s dropped %.2f points", metric.c_str(), drop)
                                         : format("%s rose %.2f points", metric.c_str(), -drop);
  const std::string values = format(" (fp32 %.4f, quantized %.4f), limit %.2f points (max_accuracy_drop %g)",
                                    c.baseline.primary, c.quantized.primary, limit, *t.max_accuracy_drop);
  if (!std::isfinite(drop))
    g.detail = format("%s drop is not a number (quantized %s %.4f): fails", metric.c_str(), metric.c_str(),
                      c.quantized.primary);
  else if (g.passed)
    g.detail = measured + values + format(": passes with %.2f points to spare", std::max(0.0, limit - drop));
  else
    g.detail = measured + values + format(": fails by %.2f points", drop - limit);
  return g;
}

GateResult speedup_gate(const Comparison& c, const GateThresholds& t) {
  const double speedup = c.speedup, floor = t.min_speedup;
  GateResult g = make_gate("speedup", speedup, floor);
  g.passed = std::isfinite(speedup) && speedup >= floor - kSlack;
  const std::string measured =
      c.speed_check
          ? format(
                "speedup %.2fx (fp32 %.3f s vs quantized %.3f s per pass over %lld rows, median of %d "
                "alternating rounds), needs at least %.2fx",
                speedup, c.speed_check->baseline_seconds, c.speed_check->quantized_seconds,
                static_cast<long long>(c.speed_check->rows), c.speed_check->rounds, floor)
          : format("speedup %.2fx (quantized %.0f vs fp32 %.0f queries/min), needs at least %.2fx", speedup,
                   c.quantized.queries_per_minute, c.baseline.queries_per_minute, floor);
  g.detail = measured + (g.passed ? format(": passes by %.2fx", std::max(0.0, speedup - floor))
                                  : format(": fails by %.2fx", floor - speedup));
  return g;
}

std::optional<GateResult> size_gate(const Comparison& c, const GateThresholds& t) {
  if (!t.target_size_mb) return std::nullopt;
  const double size = c.quantized.model_size_mb, target = *t.target_size_mb;
  const double upper = target * (1 + t.size_tolerance), lower = target * (1 - t.size_tolerance);
  GateResult g = make_gate("size", size, target);
  const std::string measured = format("size %.2f MB, target %.2f MB (tolerance +/-%.0f%%: %.2f-%.2f MB)",
                                      size, target, t.size_tolerance * 100, lower, upper);
  if (!std::isfinite(size) || size > upper * (1 + kSlack)) {
    g.passed = false;
    g.detail = measured + format(": fails, %.2f MB over the %.2f MB limit", size - upper, upper);
  } else if (size < lower * (1 - kSlack)) {
    g.warning = true;
    g.detail =
        measured + format(
                       ": %.2f MB below the target. Passes with a warning: a size target is a budget, and "
                       "being smaller passes; the accuracy and collapse gates guard the quality",
                       lower - size);
  } else {
    g.detail = measured + ": within the tolerance, passes";
  }
  return g;
}

// Classes fp32 predicts at least once that the quantized model never predicts.
std::vector<std::string> vanished_classes(const Comparison& c) {
  std::map<std::string, int64_t> quantized;
  for (size_t i = 0; i < c.quantized.label_names.size() && i < c.quantized.predicted_counts.size(); ++i)
    quantized[c.quantized.label_names[i]] += c.quantized.predicted_counts[i];
  std::vector<std::string> vanished;
  for (size_t i = 0; i < c.baseline.label_names.size() && i < c.baseline.predicted_counts.size(); ++i) {
    const std::string& label = c.baseline.label_names[i];
    if (c.baseline.predicted_counts[i] > 0 && quantized[label] == 0)
      vanished.push_back(format("'%s' (fp32 predicts it %lld times)", label.c_str(),
                                static_cast<long long>(c.baseline.predicted_counts[i])));
  }
  return vanished;
}

bool all_finite(const Fidelity& f) {
  return f.nan_inf == 0 && std::isfinite(f.mean_cosine) && std::isfinite(f.min_cosine) &&
         std::isfinite(f.mse) && std::isfinite(f.max_abs_diff) &&
         (!f.label_agreement || std::isfinite(*f.label_agreement));
}

GateResult collapse_gate(const Comparison& c, const GateThresholds& t) {
  const Fidelity& f = c.fidelity;
  const bool by_labels = f.label_agreement && c.baseline.task != EvalTask::Similarity;
  GateResult g = make_gate("collapse", 0, std::nullopt);
  std::vector<std::string> failures, notes;

  if (!all_finite(f))
    failures.push_back(
        format("the quantized outputs hold %lld NaN/Inf values", static_cast<long long>(f.nan_inf)));
  const std::vector<std::string> vanished = vanished_classes(c);
  for (const std::string& v : vanished) failures.push_back("the quantized model never predicts class " + v);
  if (vanished.empty() && !c.baseline.label_names.empty())
    notes.push_back("every class fp32 predicts is still predicted");

  if (f.label_agreement) {
    const double agreement = *f.label_agreement;
    const std::string text = format("label agreement with fp32 %.3f, floor %.3f", agreement, t.min_agreement);
    if (!(agreement >= t.min_agreement - kSlack))
      failures.push_back(text + format(" (fails by %.3f)", t.min_agreement - agreement));
    else
      notes.push_back(text);
  }
  if (!by_labels) {
    const std::string text = format("mean cosine with fp32 %.4f, floor %.4f", f.mean_cosine, t.min_cosine);
    if (!(f.mean_cosine >= t.min_cosine - kSlack))
      failures.push_back(text + format(" (fails by %.4f)", t.min_cosine - f.mean_cosine));
    else
      notes.push_back(text);
  }
  g.value = by_labels ? *f.label_agreement : f.mean_cosine;
  g.threshold = by_labels ? t.min_agreement : t.min_cosine;
  g.passed = failures.empty();

  const std::vector<std::string>& parts = g.passed ? notes : failures;
  std::string joined;
  for (const std::string& part : parts) joined += (joined.empty() ? "" : "; ") + part;
  g.detail = g.passed ? "no collapse: " + joined : joined;
  return g;
}

}  // namespace

std::string max_accuracy_drop_problem(double fraction) {
  if (std::isfinite(fraction) && fraction >= 0 && fraction <= 1) return "";
  const std::string value = format("%g", fraction);
  if (std::isfinite(fraction) && fraction > 1)
    return format(
        "max_accuracy_drop is a fraction of the metric's scale (0.015 means 1.5%%, 1.5 points of "
        "accuracy), got %s; for %s points write %g",
        value.c_str(), value.c_str(), fraction / 100);
  return format("max_accuracy_drop must be a fraction between 0 and 1 (0.015 means 1.5%%), got %s",
                value.c_str());
}

std::vector<GateResult> apply_gates(const Comparison& comparison, const GateThresholds& thresholds) {
  if (thresholds.max_accuracy_drop)
    if (std::string problem = max_accuracy_drop_problem(*thresholds.max_accuracy_drop); !problem.empty())
      fail(problem);
  std::vector<GateResult> gates;
  if (auto g = accuracy_gate(comparison, thresholds)) gates.push_back(std::move(*g));
  gates.push_back(speedup_gate(comparison, thresholds));
  if (auto g = size_gate(comparison, thresholds)) gates.push_back(std::move(*g));
  gates.push_back(collapse_gate(comparison, thresholds));
  return gates;
}

bool all_passed(const std::vector<GateResult>& gates) {
  for (const GateResult& g : gates)
    if (!g.passed) return false;
  return true;
}

nlohmann::json to_json(const GateResult& gate) {
  return {{"name", gate.name},
          {"passed", gate.passed},
          {"warning", gate.warning},
          {"value", gate.value},
          {"threshold", gate.threshold ? nlohmann::json(*gate.threshold) : nlohmann::json(nullptr)},
          {"detail", gate.detail}};
}

}  // namespace qp::eval
