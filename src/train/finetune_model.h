// `quantpipe finetune`: quantization-aware fine-tuning of a converted model.
// The student starts from the source's fp32 weights with the converted
// directory's plan (each quantized tensor fake-quantized with its scheme),
// learns from the fp32 source as teacher on unlabelled text (the calibration
// chain: a file, a dataset, the shipped corpus), and is converted again with
// the same plan, rounding the fine-tuned weights: the codes written are the
// ones the last forward used. The converted directory is replaced only when
// everything succeeded (convert's staging), with quantpipe.json's
// plan.finetune recording the options and the history and
// finetune_history.jsonl beside it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/calibration.h"
#include "quant/convert.h"
#include "train/finetune.h"

namespace qp::train {

struct FinetuneModelOptions {
  FinetuneOptions train;
  // The text: file / texts / corpus as calibration reads them; `samples` is
  // the number of rows taken (spread evenly), `max_length` tokens per row.
  CalibrationOptions data{.samples = 5000, .max_length = 128};
  double validation_fraction = 0.1;  // every round(1/f)-th row is held apart
  int threads = 0;
  std::filesystem::path source;  // empty: the source quantpipe.json names
  // Also write the dequantized fp16 model to <quantized>/fp16/ (the dual
  // output); unset: when the directory had one.
  std::optional<bool> emit_fp16;
};

struct FinetuneModelReport {
  FinetuneResult result;
  nlohmann::json info;  // what plan.finetune holds
  quant::ConvertReport convert;
  int train_rows = 0, validation_rows = 0;
};

FinetuneModelReport finetune_quantized(const std::filesystem::path& quantized_dir,
                                       const FinetuneModelOptions& options, const StepCallback& on_step = {},
                                       const EpochCallback& on_epoch = {});

// A loss's parts: {"loss", "logits_kl", "hidden_mse", "cosine", "output_mse"}.
nlohmann::json loss_parts_json(const LossParts& loss);

// One history line: {"epoch", "steps", "train": {...}, "validation": {...}, metric, lr, seconds}.
nlohmann::json epoch_json(const EpochRecord& record, const std::string& metric_name);

}  // namespace qp::train
