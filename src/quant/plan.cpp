#include "quant/plan.h"

#include <algorithm>
#include <regex>

#include "core/error.h"

namespace qp::quant {
namespace {

std::regex compile(const std::string& pattern, const std::string& option) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(option, " '", pattern, "': invalid regular expression: ", e.what());
  }
}

// The scheme a quantizable tensor gets before shape checks: its role's
// default, then the last matching override.
std::optional<std::pair<QuantScheme, std::string>> requested_scheme(
    const std::string& name, RoleQuantization by_role, const PlanOptions& options,
    const std::vector<std::pair<std::regex, QuantScheme>>& overrides) {
  std::optional<std::pair<QuantScheme, std::string>> chosen;
  if (by_role == RoleQuantization::Embedding && options.quantize_embeddings)
    chosen = {{options.embedding, "word embeddings"}};
  if (by_role == RoleQuantization::Linear) chosen = {{options.linear, "linear"}};
  for (size_t i = 0; i < overrides.size(); ++i)
    if (std::regex_search(name, overrides[i].first))
      chosen = {{overrides[i].second, "override '" + options.overrides[i].first + "'"}};
  return chosen;
}

// A scheme that does fit K: the same kind and bits with a smaller group, then
// per-channel; none when K is not a multiple of 32.
std::optional<QuantScheme> fallback_scheme(const QuantScheme& wanted, int64_t k) {
  for (int group : {64, 32}) {
    QuantScheme s = wanted;
    s.granularity = Granularity::PerGroup;
    s.group_size = group;
    if (group < wanted.group_size && scheme_fits(s, k)) return s;
  }
  QuantScheme per_channel = wanted;
  per_channel.granularity = Granularity::PerChannel;
  if (scheme_fits(per_channel, k)) return per_channel;
  return std::nullopt;
}

}  // namespace

std::string PlannedTensor::module_path() const {
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

std::pair<std::string, QuantScheme> parse_override(const std::string& text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail("--override '", text, "': expected REGEX=SCHEME, e.g. 'attention\\.output=q8_sym_ch'");
  try {
    return {text.substr(0, eq), parse_scheme(text.substr(eq + 1))};
  } catch (const Error& e) {
    fail("--override '", text, "': ", e.what());
  }
}

namespace {

constexpr std::string_view kNot2dFloat = "kept: not a 2-D float weight";

// Why a tensor stays as it is by default, or "" when its role quantizes it.
std::string default_keep_reason(const PlannedTensor& entry, const TensorView& view,
                                const TensorTable& table) {
  if (!entry.role) return table.ignored(entry.name) ? "kept: not used by the engine" : "kept: not declared";
  if (entry.is_bias) return "kept: bias";
  const RoleInfo& info = role_info(*entry.role);
  if (info.quantization == RoleQuantization::Keep && view.shape.size() != 2)
    return std::string(info.keep_reason);
  const bool is_float = view.dtype == DType::F32 || view.dtype == DType::F16 || view.dtype == DType::BF16;
  if (!is_float || view.shape.size() != 2) return std::string(kNot2dFloat);
  if (info.quantization == RoleQuantization::Keep) return std::string(info.keep_reason);
  return "";
}

}  // namespace

std::vector<PlannedTensor> make_plan(const WeightStore& weights, const TensorTable& table,
                                     const PlanOptions& options) {
  std::vector<std::regex> keep;
  for (const std::string& pattern : options.keep) keep.push_back(compile(pattern, "--keep"));
  std::vector<std::pair<std::regex, QuantScheme>> overrides;
  for (const auto& [pattern, scheme] : options.overrides)
    overrides.emplace_back(compile(pattern, "--override"), scheme);

  std::vector<PlannedTensor> plan;
  for (const std::string& name : weights.names()) {
    const TensorView& view = weights.require(name);
    PlannedTensor& entry = plan.emplace_back();
    entry.name = name;
    entry.shape = view.shape;
    entry.dtype = view.dtype;
    if (const TensorDecl* decl = table.declaring(name)) {
      entry.role = decl->role;
      entry.layer = decl->layer;
      entry.is_bias = name == decl->bias_name();
    }
    const std::string keep_reason = default_keep_reason(entry, view, table);
    const bool quantizable =
        view.shape.size() == 2 && entry.role && !entry.is_bias && keep_reason != kNot2dFloat;
    if (!quantizable) {
      entry.reason = keep_reason;
      continue;
    }
    const auto kept_by = std::find_if(keep.begin(), keep.end(),
                                      [&](const std::regex& r) { return std::regex_search(name, r); });
    if (kept_by != keep.end()) {
      entry.reason = "kept: --keep '" + options.keep[kept_by - keep.begin()] + "'";
      continue;
    }
    // An explicit override beats the role's default (not --keep).
    const RoleQuantization by_role = role_info(*entry.role).quantization;
    auto requested = requested_scheme(name, by_role, options, overrides);
    if (const auto assigned = options.assigned.find(name); assigned != options.assigned.end()) {
      if (!assigned->second) {
        entry.to_f16 = options.keep_f16.count(name) > 0 && view.dtype == DType::F32;
        entry.reason = entry.to_f16 ? "kept: mixed precision, stored as f16" : "kept: mixed precision";
        continue;
      }
      requested = {{*assigned->second, "mixed precision"}};
    }
    if (!requested) {
      entry.reason = keep_reason.empty() ? "kept: embeddings not quantized" : keep_reason;
      continue;
    }
    const int64_t k = view.shape[1];
    entry.action = TensorAction::Quantize;
    entry.scheme = requested->first;
    entry.reason = requested->second;
    if (scheme_fits(requested->first, k)) continue;
    if (const auto fallback = fallback_scheme(requested->first, k)) {
      entry.scheme = fallback;
      entry.fell_back = true;
      entry.reason = cat("fallback: ", format_scheme(requested->first), " does not fit K=", k, ", using ",
                         format_scheme(*fallback));
    } else {
      entry.action = TensorAction::Keep;
      entry.scheme.reset();
      entry.fell_back = true;
      entry.reason = cat("fallback: ", format_scheme(requested->first), " does not fit K=", k,
                         " (not a multiple of 32), kept as ", dtype_name(view.dtype));
    }
  }
  return plan;
}

}  // namespace qp::quant
