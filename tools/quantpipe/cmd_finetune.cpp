// quantpipe finetune: quantization-aware fine-tuning with distillation of a
// converted model (src/train/finetune_model.h). A progress bar with ETA on a
// terminal's stderr, one line per epoch otherwise; the history as JSONL.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "command.h"
#include "core/error.h"
#include "core/log.h"
#include "pipeline/progress.h"
#include "quantpipe/model.h"
#include "text_source.h"
#include "train/finetune_model.h"

namespace qp::cli {
namespace {

struct FinetuneArgs {
  std::string model, quantized, data = "corpus", history;
  std::vector<std::string> config = {"configs/*.yaml"};
  train::FinetuneModelOptions options;
  bool emit_fp16 = false;
};

// "[#####-----] step 120/480 epoch 1/3 loss 0.0421 ETA 3:10", redrawn in place.
class StepBar {
 public:
  explicit StepBar(int epochs) : epochs_(epochs), enabled_(isatty(STDERR_FILENO) == 1) {}
  ~StepBar() { clear(); }
  void update(int step, int total, double loss) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (step != total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = elapsed / step * (total - step);
    const int filled = total ? 20 * step / total : 0;
    const int per_epoch = std::max(1, total / epochs_);
    std::fprintf(stderr, "\r[%s%s] step %d/%d epoch %d/%d loss %.4g ETA %s   ",
                 std::string(filled, '#').c_str(), std::string(20 - filled, '-').c_str(), step, total,
                 std::min(epochs_, (step - 1) / per_epoch + 1), epochs_, loss,
                 pipeline::format_duration(eta).c_str());
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 100, "");
    shown_ = false;
  }

 private:
  int epochs_;
  bool enabled_, shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

}  // namespace

Action configure_finetune(CLI::App& app) {
  auto args = std::make_shared<FinetuneArgs>();
  train::FinetuneModelOptions& o = args->options;
  app.add_option("-q,--quantized", args->quantized,
                 "Directory written by quantpipe convert: its plan is kept, its weights are replaced by the "
                 "fine-tuned ones (atomically, when all succeeded)")
      ->required();
  app.add_option(
      "-m,--model", args->model,
      "The fp32 source model (teacher and starting point); default: the source quantpipe.json names");
  app.add_option(
         "--data", args->data,
         "Training text (no labels needed): a dataset NAME of --config, a .jsonl/.csv/.tsv file, one text "
         "per line, 'corpus' (200 general English sentences shipped with quantpipe) or 'synthetic'")
      ->capture_default_str();
  app.add_option("--config", args->config, "Pipeline config files (globs) where --data NAME is looked up")
      ->capture_default_str();
  app.add_option("--epochs", o.train.epochs, "Passes over the training rows")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch-size", o.train.batch_size, "Rows per optimizer step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", o.train.adamw.lr,
                 "Peak learning rate (AdamW; linear warm-up, then linear decay to 0)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup-ratio", o.train.warmup_ratio, "Share of the steps spent warming up")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--weight-decay", o.train.adamw.weight_decay, "AdamW weight decay (not on biases and norms)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--max-grad-norm", o.train.adamw.max_grad_norm,
                 "Clip the global gradient norm (0: no clipping)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", o.train.seed, "Seed of the row order")->capture_default_str();
  app.add_option("--temperature", o.train.distill.temperature, "Distillation temperature of the logits")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--logits-weight", o.train.distill.logits_weight, "Weight of the logits KL (classifiers)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--hidden-weight", o.train.distill.hidden_weight,
                 "Weight of the hidden-state MSE (every layer)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--cosine-weight", o.train.distill.cosine_weight,
                 "Weight of 1 - cosine of the output (embedding models)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--output-mse-weight", o.train.distill.embedding_mse_weight,
                 "Weight of the output MSE (embedding models)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--samples", o.data.samples, "Rows taken from the text (spread evenly)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-length", o.data.max_length, "Tokens per row")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--validation-fraction", o.validation_fraction,
                 "Share of the rows held apart to choose the best epoch (0: keep the last)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Threads (0: all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag(
      "--emit-fp16", args->emit_fp16,
      "Also write the dequantized fp16 model to <quantized>/fp16/ (written anyway when the directory had "
      "one)");
  app.add_option("--history", args->history,
                 "Also write the training history (one JSON line per epoch) here; it is always written to "
                 "<quantized>/finetune_history.jsonl");
  return [args] {
    train::FinetuneModelOptions options = args->options;
    if (!args->model.empty()) options.source = resolve_model_source(args->model);
    options.data.file = args->data;
    if (args->emit_fp16) options.emit_fp16 = true;
    resolve_text_source("--data", args->config, options.data);
    StepBar bar(options.train.epochs);
    const auto report = train::finetune_quantized(
        args->quantized, options,
        [&](int step, int total, const train::LossParts& loss) { bar.update(step, total, loss.total); },
        [&](const train::EpochRecord& r) {
          bar.clear();
          log_info("epoch ", r.epoch, ": train loss ", r.train.total, ", validation loss ",
                   r.validation.total, ", validation metric ", r.metric, " (", static_cast<int>(r.seconds),
                   " s)");
        });
    bar.clear();
    if (!args->history.empty()) {
      std::ofstream out(args->history);
      for (const auto& line : report.info["history"]) out << line.dump() << "\n";
      if (!out) fail(args->history, ": cannot write the history");
    }
    std::cout << "fine-tuned " << args->quantized << ": " << report.result.metric_name << " "
              << report.info["metric_before"].get<double>() << " → "
              << report.info["metric_after"].get<double>() << " (best epoch " << report.result.best_epoch
              << " of " << options.train.epochs << ", " << static_cast<int>(report.result.seconds) << " s, "
              << report.train_rows << " training rows)\n";
    return 0;
  };
}

}  // namespace qp::cli
