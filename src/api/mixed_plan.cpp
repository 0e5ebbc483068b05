#include "api/mixed_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/log.h"
#include "quant/error_stats.h"

namespace qp {
namespace {

using quant::PrecisionBudget;
using quant::PrecisionPlan;
using quant::PrecisionUnit;

constexpr int kBisectionSteps = 8;

bool same_units(const std::vector<PrecisionUnit>& a, const std::vector<PrecisionUnit>& b) {
  if (a.size() != b.size()) return false;
  for (size_t u = 0; u < a.size(); ++u) {
    if (a[u].name != b[u].name || a[u].tensors != b[u].tensors || a[u].options.size() != b[u].options.size())
      return false;
    for (size_t o = 0; o < a[u].options.size(); ++o)
      if (a[u].options[o].scheme != b[u].options[o].scheme || a[u].options[o].bytes != b[u].options[o].bytes)
        return false;
  }
  return true;
}

double mb(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

// The index of the option `previous` chose for each unit.
std::vector<int> previous_choice(const std::vector<PrecisionUnit>& units, const nlohmann::json& previous) {
  std::vector<int> choice;
  const nlohmann::json& list = previous.at("units");
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string chosen = list.at(u).at("chosen").get<std::string>();
    int found = -1;
    for (size_t o = 0; o < units[u].options.size(); ++o)
      if (quant::option_name(units[u].options[o]) == chosen) found = static_cast<int>(o);
    if (found < 0)
      fail("[mixed precision] earlier plan chose '", chosen, "' for ", units[u].name, ": not an option");
    choice.push_back(found);
  }
  return choice;
}

// Floors after a failed gate: up to `count` of the units whose chosen option
// costs most error, each moved to its next option with less error, taking
// only raises that still leave a plan within `fits` (the size target).
std::vector<int64_t> raised_floors(const std::vector<PrecisionUnit>& units, int64_t fixed,
                                   const std::vector<int>& choice, std::vector<int64_t> floors, size_t count,
                                   PrecisionBudget fits, std::vector<std::string>& raised) {
  struct Candidate {
    size_t unit;
    double error;
    int64_t next_bytes;
  };
  std::vector<Candidate> candidates;
  for (size_t u = 0; u < units.size(); ++u) {
    const quant::PrecisionOption& now = units[u].options[static_cast<size_t>(choice[u])];
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const quant::PrecisionOption& o : units[u].options)
      if (o.bytes > now.bytes && o.error < now.error) next = std::min(next, o.bytes);
    if (next != std::numeric_limits<int64_t>::max()) candidates.push_back({u, now.error, next});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.error > b.error; });
  for (const Candidate& c : candidates) {
    std::vector<int64_t> trial = floors;
    trial[c.unit] = std::max(trial[c.unit], c.next_bytes);
    fits.min_unit_bytes = trial;
    if (!quant::choose_precision(units, fixed, fits)) continue;
    floors = std::move(trial);
    raised.push_back(units[c.unit].name);
    if (raised.size() == count) break;
  }
  if (raised.empty())
    fail("no plan within budget passes: ",
         candidates.empty() ? "every unit already has its most precise option that loses less"
                            : "no sensitive unit can take a more precise option within the target");
  return floors;
}

std::map<std::string, quant::QuantScheme> quantized_assignment(const std::vector<PrecisionUnit>& units,
                                                               const PrecisionPlan& plan) {
  std::map<std::string, quant::QuantScheme> out;
  for (size_t u = 0; u < units.size(); ++u)
    if (const auto& scheme = units[u].options[static_cast<size_t>(plan.choice[u])].scheme)
      for (const std::string& name : units[u].tensors) out[name] = *scheme;
  return out;
}

}  // namespace

double calibration_drop(const std::vector<float>& quantized, const std::vector<float>& reference,
                        size_t width, bool classifier) {
  if (width == 0 || reference.size() % width != 0 || quantized.size() != reference.size())
    fail("[mixed precision] ", quantized.size(), " outputs against ", reference.size(), " in rows of ",
         width);
  const size_t rows = reference.size() / width;
  double total = 0;
  for (size_t r = 0; r < rows; ++r) {
    const float* q = quantized.data() + r * width;
    const float* f = reference.data() + r * width;
    if (classifier)
      total += std::max_element(q, q + width) - q != std::max_element(f, f + width) - f ? 1.0 : 0.0;
    else
      total += 1.0 - quant::compare_tensors({f, width}, {q, width}).cosine;
  }
  return rows ? total / static_cast<double>(rows) : 0.0;
}

MixedPrecisionResult plan_mixed_precision(const std::filesystem::path& source,
                                          const quant::ConvertOptions& convert,
                                          const std::vector<Encoding>& calibration,
                                          const MixedPrecisionOptions& options) {
  if (!options.target_size_mb && !options.max_accuracy_drop)
    fail(
        "mixed precision needs a size target (--target-size-mb) and/or an accuracy bound "
        "(--max-accuracy-drop)");
  const std::vector<quant::PlannedTensor> base = quant::plan_conversion(source, convert.plan);
  const FakeQuantizer quantizer{convert.method, convert.gptq, convert.quant, convert.hessians};

  SensitivityResult measured = precision_units(base, convert.plan, options.sensitivity);
  const bool has_previous = options.previous.is_object() && options.previous.contains("units");
  bool reused = false;
  if (has_previous) {
    std::vector<PrecisionUnit> earlier = quant::units_from_json(options.previous);
    const bool same_method = options.previous.value("method", "") == quant::method_name(convert.method);
    const bool same_rows = options.previous.value("calibration", nlohmann::json()) == options.calibration &&
                           options.previous.contains("sensitivity") &&
                           options.previous["sensitivity"].value("rows", -1) ==
                               static_cast<int>(std::min<size_t>(
                                   calibration.size(), static_cast<size_t>(options.sensitivity.rows)));
    if (same_method && same_rows && same_units(earlier, measured.units)) {
      measured.units = std::move(earlier);
      reused = true;
      log_info("mixed precision: reusing the sensitivities measured for an earlier conversion");
    } else {
      log_info("mixed precision: the earlier sensitivities are for ",
               !same_method ? "another method"
               : !same_rows ? "other calibration rows"
                            : "other weight units or candidates",
               "; measuring again");
    }
  }
  if (!reused) {
    int runs = 0;
    for (const PrecisionUnit& u : measured.units)
      for (const quant::PrecisionOption& o : u.options) runs += o.scheme || o.half ? 1 : 0;
    log_info("mixed precision: measuring the sensitivity of ", measured.units.size(), " weight units (", runs,
             " runs over ",
             std::min<size_t>(calibration.size(), static_cast<size_t>(options.sensitivity.rows)),
             " calibration rows)");
    measured = measure_sensitivity(source, base, convert.plan, calibration, quantizer, options.sensitivity,
                                   options.threads, [](int done, int total, const std::string& what) {
                                     if (done % 10 == 0 || done == total)
                                       log_info("  sensitivity ", done, "/", total, " (", what, ")");
                                   });
  }
  const std::vector<PrecisionUnit>& units = measured.units;
  const int64_t fixed = measured.fixed_bytes;

  std::vector<int64_t> floors(units.size(), 0);
  if (options.raise && reused && options.previous.contains("min_unit_bytes"))
    floors = options.previous["min_unit_bytes"].get<std::vector<int64_t>>();
  std::vector<std::string> raised;
  if (options.raise) {
    if (!reused) fail("[mixed precision] raising precision needs the earlier plan of the same units");
    // A quarter of the units, the most sensitive that the size target has
    // room for.
    PrecisionBudget fits;
    if (options.target_size_mb)
      fits.max_bytes = static_cast<int64_t>(*options.target_size_mb * 1e6);
    else
      fits.max_error = std::numeric_limits<double>::infinity();
    floors = raised_floors(units, fixed, previous_choice(units, options.previous), floors,
                           std::max<size_t>(1, (units.size() + 3) / 4), fits, raised);
  }

  // The fp32 outputs on every calibration row, for the measured drop.
  std::vector<float> reference;
  size_t width = 0;
  bool classifier = false;
  if (options.max_accuracy_drop) {
    if (options.general_text)
      log_warn(
          "the accuracy bound is checked on general-text calibration rows, not the task's: a drop "
          "measured there says little about the task (give task data with --calibration FILE, or let "
          "the pipeline check its gates)");
    const Model model = Model::load(source, {options.threads});
    classifier = model.info().num_labels > 0;
    reference = model_outputs(model, calibration, options.sensitivity.batch_size);
    width = calibration.empty() ? 0 : reference.size() / calibration.size();
  }
  nlohmann::json search = nlohmann::json::array();
  auto measure_drop = [&](const PrecisionPlan& plan, std::optional<double> max_error) {
    const double drop =
        calibration_drop(outputs_with_quantized(source, quantized_assignment(units, plan), calibration,
                                                quantizer, options.sensitivity.batch_size, options.threads),
                         reference, width, classifier);
    search.push_back({{"max_error", max_error ? nlohmann::json(*max_error) : nlohmann::json()},
                      {"bytes", plan.bytes},
                      {"predicted_error", plan.error},
                      {"calibration_drop", drop}});
    log_info("  plan of ", mb(plan.bytes), " MB: predicted error ", plan.error, ", calibration drop ", drop);
    return drop;
  };

  PrecisionBudget budget;
  budget.min_unit_bytes = floors;
  std::optional<PrecisionPlan> plan;
  std::optional<double> drop;
  if (options.target_size_mb) {
    budget.max_bytes = static_cast<int64_t>(*options.target_size_mb * 1e6);
    plan = quant::choose_precision(units, fixed, budget);
    if (!plan) {
      PrecisionBudget floors_only;
      floors_only.min_unit_bytes = floors;
      floors_only.max_error = std::numeric_limits<double>::infinity();
      const auto least = quant::choose_precision(units, fixed, floors_only);
      fail("no plan within budget: the smallest plan", raised.empty() ? "" : " with the raised units",
           " stores ", mb(least ? least->bytes : smallest_plan_bytes(units, fixed)),
           " MB, above the target of ", *options.target_size_mb, " MB");
    }
    if (options.max_accuracy_drop) {
      drop = measure_drop(*plan, std::nullopt);
      if (*drop > *options.max_accuracy_drop)
        log_warn("the least-error plan within ", *options.target_size_mb, " MB drops ", *drop,
                 " on the calibration rows (max ", *options.max_accuracy_drop,
                 "): no plan within this budget is predicted to pass");
    }
  } else {
    // The smallest plan whose measured drop is within the bound: bisection
    // over the predicted-error budget in log space. When no plan tried holds
    // it, the least-error plan (every unit 16-bit, or as stored) is the answer.
    PrecisionBudget everything;
    everything.min_unit_bytes = floors;
    everything.max_bytes = largest_plan_bytes(units, fixed);
    plan = quant::choose_precision(units, fixed, everything);
    if (!plan) fail("[mixed precision] no plan satisfies the raised units' floors");
    bool fallback = true;
    budget.max_error = std::numeric_limits<double>::infinity();
    const auto smallest_plan = quant::choose_precision(units, fixed, budget);
    if (!smallest_plan) fail("[mixed precision] no plan satisfies the raised units' floors");
    const PrecisionPlan& smallest = *smallest_plan;
    const double smallest_drop = measure_drop(smallest, std::nullopt);
    if (smallest_drop <= *options.max_accuracy_drop) {
      plan = smallest;
      drop = smallest_drop;
      fallback = false;
    } else {
      double least_error = smallest.error;
      for (const PrecisionUnit& u : units)
        for (const quant::PrecisionOption& o : u.options)
          if (o.error > 0) least_error = std::min(least_error, o.error);
      // lo: an error budget whose plan holds the bound; hi: one whose plan does not.
      double lo = std::log(least_error), hi = std::log(std::max(smallest.error, least_error));
      for (int step = 0; step < kBisectionSteps; ++step) {
        const double bound = std::exp((lo + hi) / 2);
        budget.max_error = bound;
        const auto candidate = quant::choose_precision(units, fixed, budget);
        if (!candidate) {
          lo = std::log(bound);
          continue;
        }
        const double d = measure_drop(*candidate, bound);
        if (d <= *options.max_accuracy_drop) {
          if (fallback || candidate->bytes < plan->bytes) {
            plan = candidate;
            drop = d;
            fallback = false;
          }
          lo = std::log(bound);  // within the bound: try a larger error budget (a smaller plan)
        } else {
          hi = std::log(bound);
        }
      }
    }
    if (fallback) drop = measure_drop(*plan, std::nullopt);
  }

  MixedPrecisionResult result;
  for (size_t u = 0; u < units.size(); ++u) {
    const quant::PrecisionOption& chosen = units[u].options[static_cast<size_t>(plan->choice[u])];
    for (const std::string& name : units[u].tensors) {
      result.assigned[name] = chosen.scheme;
      if (chosen.half) result.keep_f16.insert(name);
    }
  }
  result.record = quant::plan_to_json(units, *plan);
  result.record["fixed_bytes"] = fixed;
  result.record["method"] = quant::method_name(convert.method);
  result.record["calibration"] = options.calibration;
  result.record["target_size_mb"] =
      options.target_size_mb ? nlohmann::json(*options.target_size_mb) : nlohmann::json();
  result.record["max_accuracy_drop"] =
      options.max_accuracy_drop ? nlohmann::json(*options.max_accuracy_drop) : nlohmann::json();
  result.record["calibration_drop"] = drop ? nlohmann::json(*drop) : nlohmann::json();
  result.record["drop_measure"] = !drop        ? nlohmann::json()
                                  : classifier ? nlohmann::json("label disagreement")
                                               : nlohmann::json("1 - mean cosine");
  result.record["min_unit_bytes"] = floors;
  result.record["raised"] = raised;
  result.record["search"] = std::move(search);
  result.record["sensitivity"] = {
      {"rows", std::min<size_t>(calibration.size(), static_cast<size_t>(options.sensitivity.rows))},
      {"measure", "relative output MSE"},
      {"runs", measured.measurements},
      {"seconds", measured.seconds},
      {"reused", reused}};
  return result;
}

}  // namespace qp
