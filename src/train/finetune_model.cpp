#include "train/finetune_model.h"

#include "api/convert.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "quantpipe/model.h"
#include "train/quantized_plan.h"

namespace qp::train {
namespace {

// Gives each student parameter the plan's scheme; returns how many.
int apply_plan(TrainableEncoder& student, const QuantizedPlan& plan) {
  int quantized = 0;
  for (auto& p : student.parameters().all()) {
    const auto it = plan.tensors.find(p->name);
    if (it == plan.tensors.end())
      fail(plan.dir.string(), "/quantpipe.json: the plan has no row for ", p->name,
           "; was it converted from another model?");
    p->scheme = it->second;
    quantized += it->second.has_value();
  }
  return quantized;
}

}  // namespace

nlohmann::json loss_parts_json(const LossParts& loss) {
  return {{"loss", loss.total},
          {"logits_kl", loss.logits},
          {"hidden_mse", loss.hidden},
          {"cosine", loss.cosine},
          {"output_mse", loss.mse}};
}

nlohmann::json epoch_json(const EpochRecord& r, const std::string& metric_name) {
  return {{"epoch", r.epoch},
          {"steps", r.steps},
          {"train", loss_parts_json(r.train)},
          {"validation", loss_parts_json(r.validation)},
          {metric_name, r.metric},
          {"learning_rate", r.learning_rate},
          {"grad_norm", r.grad_norm},
          {"seconds", r.seconds}};
}

FinetuneModelReport finetune_quantized(const std::filesystem::path& quantized_dir,
                                       const FinetuneModelOptions& options, const StepCallback& on_step,
                                       const EpochCallback& on_epoch) {
  const QuantizedPlan plan = read_quantized_plan(quantized_dir);
  const std::filesystem::path source = options.source.empty() ? plan.source : options.source;
  if (!std::filesystem::exists(source / "config.json"))
    fail(source.string(), ": the source model is not there (", quantized_dir.string(),
         "/quantpipe.json names it); give --model");

  FinetuneModelReport report;
  const Model fp32 = Model::load(source, {.threads = options.threads});
  const CalibrationSet set = read_calibration_set(fp32, options.data);
  std::vector<Encoding> train_rows, validation_rows;
  const double f = options.validation_fraction;
  const size_t every = f > 0.0 ? std::max<size_t>(2, static_cast<size_t>(std::lround(1.0 / f))) : 0;
  for (size_t i = 0; i < set.encodings.size(); ++i)
    (every && i % every == every - 1 ? validation_rows : train_rows).push_back(set.encodings[i]);
  report.train_rows = static_cast<int>(train_rows.size());
  report.validation_rows = static_cast<int>(validation_rows.size());

  ThreadPool pool(options.threads);
  const TrainableEncoder teacher = [&] {
    TrainableEncoder t = TrainableEncoder::load(source);
    t.refresh(plan.ternary_threshold, pool);
    return t;
  }();
  TrainableEncoder student = TrainableEncoder::load(source);
  const int quantized = apply_plan(student, plan);
  FinetuneOptions train_options = options.train;
  train_options.ternary_threshold = plan.ternary_threshold;
  log_info("fine-tuning ", quantized, " quantized tensors of ", source.string(), " on ", train_rows.size(),
           " rows (", validation_rows.size(), " held apart), ", train_options.epochs, " epochs");
  report.result =
      finetune(student, teacher, train_rows, validation_rows, train_options, pool, on_step, on_epoch);

  nlohmann::json history = nlohmann::json::array();
  for (const EpochRecord& r : report.result.history)
    history.push_back(epoch_json(r, report.result.metric_name));
  const FinetuneResult& result = report.result;
  report.info = {{"method", "qat_distillation"},
                 {"initial_method", plan.method},
                 {"data", set.info},
                 {"train_rows", report.train_rows},
                 {"validation_rows", report.validation_rows},
                 {"epochs", train_options.epochs},
                 {"batch_size", train_options.batch_size},
                 {"learning_rate", train_options.adamw.lr},
                 {"warmup_ratio", train_options.warmup_ratio},
                 {"weight_decay", train_options.adamw.weight_decay},
                 {"max_grad_norm", train_options.adamw.max_grad_norm},
                 {"seed", train_options.seed},
                 {"distillation",
                  {{"logits_weight", train_options.distill.logits_weight},
                   {"temperature", train_options.distill.temperature},
                   {"hidden_weight", train_options.distill.hidden_weight},
                   {"cosine_weight", train_options.distill.cosine_weight},
                   {"embedding_mse_weight", train_options.distill.embedding_mse_weight}}},
                 {"validation_metric", result.metric_name},
                 {"metric_before", result.history.front().metric},
                 {"metric_after", result.history[result.best_epoch].metric},
                 {"best_epoch", result.best_epoch},
                 {"final_loss", result.history.back().train.total},
                 {"seconds", result.seconds},
                 {"history", history}};

  quant::ConvertOptions convert_options;
  convert_options.plan = plan.plan_options();
  convert_options.quant.ternary_threshold = plan.ternary_threshold;
  convert_options.quant.half_scales = plan.half_scales;
  convert_options.method = quant::QuantMethod::Rtn;
  convert_options.force = true;
  convert_options.emit_fp16 = options.emit_fp16.value_or(plan.has_fp16);
  convert_options.finetune = report.info;
  for (const auto& p : student.parameters().all()) convert_options.replaced_values[p->name] = p->value;
  report.convert = convert(source, quantized_dir, std::move(convert_options));
  std::string lines;
  for (const auto& line : history) lines += line.dump() + "\n";
  write_file_atomic(quantized_dir / "finetune_history.jsonl", lines);
  return report;
}

}  // namespace qp::train
