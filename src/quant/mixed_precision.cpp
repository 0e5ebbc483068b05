#include "quant/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace qp::quant {
namespace {

constexpr int64_t kBuckets = 4096;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

bool allowed(const PrecisionBudget& budget, size_t unit, const PrecisionOption& option) {
  return budget.min_unit_bytes.empty() || option.bytes >= budget.min_unit_bytes[unit];
}

}  // namespace

int64_t smallest_plan_bytes(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes) {
  int64_t total = fixed_bytes;
  for (const PrecisionUnit& u : units) {
    int64_t least = std::numeric_limits<int64_t>::max();
    for (const PrecisionOption& o : u.options) least = std::min(least, o.bytes);
    total += least;
  }
  return total;
}

int64_t largest_plan_bytes(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes) {
  int64_t total = fixed_bytes;
  for (const PrecisionUnit& u : units) {
    int64_t most = 0;
    for (const PrecisionOption& o : u.options) most = std::max(most, o.bytes);
    total += most;
  }
  return total;
}

std::optional<PrecisionPlan> choose_precision(const std::vector<PrecisionUnit>& units, int64_t fixed_bytes,
                                              const PrecisionBudget& budget) {
  if (!budget.max_bytes && !budget.max_error)
    fail("[mixed precision] a budget needs a size or an error bound");
  if (!budget.min_unit_bytes.empty() && budget.min_unit_bytes.size() != units.size())
    fail("[mixed precision] ", budget.min_unit_bytes.size(), " unit floors for ", units.size(), " units");
  for (const PrecisionUnit& u : units)
    if (u.options.empty()) fail("[mixed precision] unit '", u.name, "' has no options");

  // Sizes in buckets, rounded to nearest; a plan read back at some bucket
  // count is checked against the budget in bytes.
  const int64_t variable = largest_plan_bytes(units, 0);
  const int64_t bucket = std::max<int64_t>(1, (variable + kBuckets - 1) / kBuckets);
  auto cost = [&](const PrecisionOption& o) { return (o.bytes + bucket / 2) / bucket; };
  int64_t capacity = 0;
  for (const PrecisionUnit& u : units) {
    int64_t most = 0;
    for (const PrecisionOption& o : u.options) most = std::max(most, cost(o));
    capacity += most;
  }

  // best[b]: least error of the units so far within b buckets; choice[u][b]
  // the option unit u takes there.
  const size_t width = static_cast<size_t>(capacity) + 1;
  std::vector<double> best(width, 0.0), next(width);
  std::vector<std::vector<int>> choice(units.size(), std::vector<int>(width, -1));
  for (size_t u = 0; u < units.size(); ++u) {
    std::fill(next.begin(), next.end(), kInfinity);
    for (size_t o = 0; o < units[u].options.size(); ++o) {
      const PrecisionOption& option = units[u].options[o];
      if (!allowed(budget, u, option)) continue;
      const int64_t c = cost(option);
      for (int64_t b = c; b <= capacity; ++b) {
        const double e = best[static_cast<size_t>(b - c)] + option.error;
        if (e < next[static_cast<size_t>(b)]) {
          next[static_cast<size_t>(b)] = e;
          choice[u][static_cast<size_t>(b)] = static_cast<int>(o);
        }
      }
    }
    best.swap(next);
  }

  auto plan_at = [&](int64_t at) {
    PrecisionPlan plan;
    plan.choice.assign(units.size(), -1);
    plan.bytes = fixed_bytes;
    for (size_t u = units.size(); u-- > 0;) {
      const int o = choice[u][static_cast<size_t>(at)];
      plan.choice[u] = o;
      const PrecisionOption& option = units[u].options[static_cast<size_t>(o)];
      plan.bytes += option.bytes;
      plan.error += option.error;
      at -= cost(option);
    }
    return plan;
  };

  if (budget.max_bytes) {
    // From a little above the budget in buckets (rounding moves a plan by at
    // most half a bucket per unit) down to the first plan that fits in bytes.
    const int64_t room = *budget.max_bytes - fixed_bytes;
    if (room < 0) return std::nullopt;
    const int64_t start = std::min(capacity, room / bucket + static_cast<int64_t>(units.size()) / 2 + 1);
    for (int64_t b = start; b >= 0; --b) {
      if (!std::isfinite(best[static_cast<size_t>(b)])) break;
      PrecisionPlan plan = plan_at(b);
      if (plan.bytes <= *budget.max_bytes) return plan;
    }
    return std::nullopt;
  }
  // The smallest size whose least error is within the bound.
  for (int64_t b = 0; b <= capacity; ++b)
    if (std::isfinite(best[static_cast<size_t>(b)]) && best[static_cast<size_t>(b)] <= *budget.max_error)
      return plan_at(b);
  return std::nullopt;
}

std::string option_name(const PrecisionOption& option) {
  return option.scheme ? format_scheme(*option.scheme) : option.half ? "f16" : "keep";
}

std::string option_width(const std::string& name) { return name.substr(0, name.find('_')); }

double option_bits(const std::string& name) {
  const std::string width = option_width(name);
  if (width == "keep" || width == "f16") return 16;
  if (width == "ternary") return 1.58;
  if (width.size() > 1 && width[0] == 'q') return std::atof(width.c_str() + 1);
  return 0;
}

nlohmann::json plan_to_json(const std::vector<PrecisionUnit>& units, const PrecisionPlan& plan) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t u = 0; u < units.size(); ++u) {
    nlohmann::json options = nlohmann::json::array();
    for (const PrecisionOption& o : units[u].options)
      options.push_back({{"scheme", option_name(o)}, {"bytes", o.bytes}, {"error", o.error}});
    list.push_back({{"name", units[u].name},
                    {"tensors", units[u].tensors},
                    {"chosen", option_name(units[u].options[static_cast<size_t>(plan.choice[u])])},
                    {"options", std::move(options)}});
  }
  return {{"units", std::move(list)}, {"bytes", plan.bytes}, {"predicted_error", plan.error}};
}

std::vector<PrecisionUnit> units_from_json(const nlohmann::json& json) {
  std::vector<PrecisionUnit> units;
  try {
    for (const nlohmann::json& u : json.at("units")) {
      PrecisionUnit unit{
          u.at("name").get<std::string>(), u.at("tensors").get<std::vector<std::string>>(), {}};
      for (const nlohmann::json& o : u.at("options")) {
        const std::string scheme = o.at("scheme").get<std::string>();
        const bool kept = scheme == "keep" || scheme == "f16";
        unit.options.push_back({kept ? std::nullopt : std::optional(parse_scheme(scheme)),
                                o.at("bytes").get<int64_t>(), o.at("error").get<double>(), scheme == "f16"});
      }
      units.push_back(std::move(unit));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("[mixed precision] malformed sensitivity record: ", e.what());
  }
  return units;
}

}  // namespace qp::quant
