#include "api/convert.h"

#include "api/awq_fold.h"
#include "core/error.h"
#include "quant/scheme.h"
#include "quantpipe/model.h"

namespace qp {

void check_model_loads(const std::filesystem::path& dir) {
  // One thread: only the loading matters, and a pool of idle workers would
  // cost a thread per core for nothing.
  Model::load(dir, {.threads = 1});
}

quant::ConvertReport convert(const std::filesystem::path& source, const std::filesystem::path& out,
                             quant::ConvertOptions options, const quant::ProgressFn& progress,
                             const std::optional<CalibrationOptions>& calibration,
                             const std::optional<MixedPrecisionOptions>& mixed) {
  options.check_loads = check_model_loads;
  if (quant::needs_calibration(options.method) && options.hessians.empty()) {
    // Without calibration options: the corpus shipped with quantpipe.
    check_model_loads(source);
    CalibrationResult calibrated = collect_hessians(source, quant::plan_conversion(source, options.plan),
                                                    calibration.value_or(CalibrationOptions{}));
    options.hessians = std::move(calibrated.hessians);
    options.calibration = std::move(calibrated.info);
    options.activation_stats = std::move(calibrated.activation_stats);
  }
  if (options.method == quant::QuantMethod::Awq) {
    AwqFoldResult folded = fold_awq_scales(source, quant::plan_conversion(source, options.plan),
                                           options.hessians, options.quant);
    options.replaced_values = std::move(folded.replaced);
    options.awq_scaled = std::move(folded.scaled);
    options.awq = std::move(folded.record);
  }
  if (mixed) {
    const Model model = Model::load(source, {mixed->threads});
    const CalibrationSet set = read_calibration_set(model, calibration.value_or(CalibrationOptions{}));
    MixedPrecisionOptions planning = *mixed;
    const std::string step = set.info.value("source", "");
    planning.general_text = step == "shipped corpus" || step == "synthetic text";
    planning.calibration = set.info;
    MixedPrecisionResult planned = plan_mixed_precision(source, options, set.encodings, planning);
    options.plan.assigned = std::move(planned.assigned);
    options.plan.keep_f16 = std::move(planned.keep_f16);
    options.mixed_precision = std::move(planned.record);
    if (options.calibration.is_null()) options.calibration = set.info;
    if (mixed->target_size_mb) options.target_size_mb = mixed->target_size_mb;
  }
  return quant::convert_model(source, out, options, progress);
}

QuantizeResult quantize(const std::filesystem::path& source, const std::filesystem::path& out,
                        const QuantizeOptions& options) {
  quant::ConvertOptions convert_options;
  convert_options.plan.linear = quant::parse_scheme(options.scheme);
  convert_options.method = quant::default_method(convert_options.plan.linear);
  convert_options.plan.quantize_embeddings = options.embedding != "keep";
  if (convert_options.plan.quantize_embeddings)
    convert_options.plan.embedding = quant::parse_scheme(options.embedding);
  convert_options.plan.keep = options.keep;
  for (const std::string& text : options.overrides)
    convert_options.plan.overrides.push_back(quant::parse_override(text));
  convert_options.force = options.force;
  convert_options.emit_fp16 = options.emit_fp16;
  if (options.target_size_mb > 0) convert_options.target_size_mb = options.target_size_mb;
  const quant::ConvertReport report = convert(source, out, convert_options);
  return {report.to_json(convert_options).dump(2), report.source_bytes(), report.stored_bytes(),
          report.seconds};
}

}  // namespace qp
