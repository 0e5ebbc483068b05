// Quantization-aware fine-tuning with distillation: the student (shadow
// fp32 weights, fake-quantized forward) learns from the fp32 teacher on
// unlabelled text with AdamW, a warm-up then linear decay, gradient clipping
// and a fixed seed (the order of the rows each epoch). After each epoch the
// student is measured against the teacher on held-apart rows; the epoch with
// the lowest distillation loss there (or the starting point, when no epoch
// beats it) is what the student holds at the end.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "train/adamw.h"
#include "train/distillation.h"
#include "train/trainable_encoder.h"

namespace qp::train {

struct FinetuneOptions {
  int epochs = 3;
  int batch_size = 32;
  AdamWOptions adamw{.lr = 1e-4f};  // warmup_steps and total_steps are set from the rows
  float warmup_ratio = 0.1f;
  unsigned seed = 42;
  DistillOptions distill;
  float ternary_threshold = 0.5f;  // convert's, for the fake quantization
};

struct EpochRecord {
  int epoch = 0;         // 0: before fine-tuning
  int steps = 0;         // optimizer steps so far
  LossParts train;       // mean over the epoch's batches
  LossParts validation;  // on the held-apart rows
  double metric = 0.0;   // validation metric (see FinetuneResult::metric_name)
  double learning_rate = 0.0;
  double grad_norm = 0.0;  // mean before clipping
  double seconds = 0.0;    // since fine-tuning began
};

struct FinetuneResult {
  // "teacher_agreement": the share of held-apart rows where the student's
  // top label is the teacher's (classifiers); "teacher_cosine": the mean
  // cosine of the student's embedding to the teacher's (embedding models).
  std::string metric_name;
  std::vector<EpochRecord> history;  // epoch 0 first
  int best_epoch = 0;
  double seconds = 0.0;
};

// Called after each optimizer step and after each epoch.
using StepCallback = std::function<void(int step, int total_steps, const LossParts& loss)>;
using EpochCallback = std::function<void(const EpochRecord& record)>;

// Throws when there are no training rows; validation may be empty (then the
// last epoch is kept).
FinetuneResult finetune(TrainableEncoder& student, const TrainableEncoder& teacher,
                        std::span<const Encoding> train, std::span<const Encoding> validation,
                        const FinetuneOptions& options, ThreadPool& pool, const StepCallback& on_step = {},
                        const EpochCallback& on_epoch = {});

}  // namespace qp::train
