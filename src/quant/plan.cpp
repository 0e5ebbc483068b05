#include "quant/plan.h"

#include <regex>

#include "core/error.h"

namespace qp::quant {
namespace {

// Names that stay unquantized by default, with the reason shown in the plan.
struct KeepRule {
  const char* pattern;
  const char* reason;
};
const KeepRule kDefaultKeepRules[] = {
    {R"((LayerNorm|layer_norm|layernorm|_norm)\.)", "kept: normalisation"},
    {R"(\.bias$)", "kept: bias"},
    {R"(position_embeddings|token_type_embeddings|position_ids)", "kept: position / type embeddings"},
    {R"((^|\.)(classifier|pooler|pre_classifier|qa_outputs)\.)", "kept: classification head"},
};

bool is_word_embedding(const std::string& name) {
  return name.find("word_embeddings.weight") != std::string::npos;
}

std::regex compile(const std::string& pattern, const std::string& option) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(option, " '", pattern, "': invalid regular expression: ", e.what());
  }
}

// The scheme a quantizable tensor gets before shape checks.
std::optional<std::pair<QuantScheme, std::string>> requested_scheme(
    const std::string& name, const PlanOptions& options,
    const std::vector<std::pair<std::regex, QuantScheme>>& overrides) {
  std::optional<std::pair<QuantScheme, std::string>> chosen;
  if (is_word_embedding(name)) {
    if (options.quantize_embeddings) chosen = {{options.embedding, "word embeddings"}};
  } else {
    chosen = {{options.linear, "linear"}};
  }
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

std::vector<PlannedTensor> make_plan(const WeightStore& weights, const PlanOptions& options) {
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
    const bool is_float = view.dtype == DType::F32 || view.dtype == DType::F16 || view.dtype == DType::BF16;
    if (!is_float || view.shape.size() != 2 || name.size() < 7 || name.substr(name.size() - 7) != ".weight") {
      entry.reason = "kept: not a 2-D float weight";
      continue;
    }
    bool kept = false;
    for (const KeepRule& rule : kDefaultKeepRules)
      if (!kept && std::regex_search(name, std::regex(rule.pattern))) {
        entry.reason = rule.reason;
        kept = true;
      }
    for (size_t i = 0; i < keep.size() && !kept; ++i)
      if (std::regex_search(name, keep[i])) {
        entry.reason = "kept: --keep '" + options.keep[i] + "'";
        kept = true;
      }
    // An explicit override beats the default keep rules (not --keep).
    const bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                        [&](const auto& o) { return std::regex_search(name, o.first); });
    if (kept && !(overridden && entry.reason.find("--keep") == std::string::npos)) continue;
    const auto requested = requested_scheme(name, options, overrides);
    if (!requested) {
      entry.reason = "kept: embeddings not quantized";
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
