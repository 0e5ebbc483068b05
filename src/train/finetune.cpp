#include "train/finetune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

namespace qp::train {
namespace {

struct Validation {
  LossParts loss;
  double metric = 0.0;
};

double row_cosine(const float* a, const float* b, int width) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (int c = 0; c < width; ++c) {
    ab += static_cast<double>(a[c]) * b[c];
    aa += static_cast<double>(a[c]) * a[c];
    bb += static_cast<double>(b[c]) * b[c];
  }
  return ab / std::max(std::sqrt(aa * bb), 1e-24);
}

int arg_max(const float* row, int width) {
  return static_cast<int>(std::max_element(row, row + width) - row);
}

Validation validate(const TrainableEncoder& student, const TrainableEncoder& teacher,
                    std::span<const Encoding> rows, const FinetuneOptions& options, ThreadPool& pool) {
  Validation v;
  if (rows.empty()) return v;
  const int width = student.head_width();
  double metric_sum = 0.0;
  int batches = 0;
  OutputGrads unused;
  for (size_t first = 0; first < rows.size(); first += options.batch_size) {
    const size_t count = std::min<size_t>(options.batch_size, rows.size() - first);
    const EncoderBatch batch = EncoderBatch::from_encodings(rows.subspan(first, count));
    const ForwardPass s = student.forward(batch, pool, nullptr, false);
    const ForwardPass t = teacher.forward(batch, pool, nullptr, false);
    v.loss += distillation_loss(s, t, student.head(), width, options.distill, unused);
    ++batches;
    for (size_t r = 0; r < count; ++r) {
      const float* so = s.head_output().data() + r * width;
      const float* to = t.head_output().data() + r * width;
      metric_sum += student.head() == TrainHead::Classifier
                        ? (arg_max(so, width) == arg_max(to, width) ? 1.0 : 0.0)
                        : row_cosine(so, to, width);
    }
  }
  v.loss = v.loss.scaled(1.0 / batches);
  v.metric = metric_sum / static_cast<double>(rows.size());
  return v;
}

std::vector<std::vector<float>> snapshot(const ParameterSet& parameters) {
  std::vector<std::vector<float>> values;
  for (const auto& p : parameters.all()) values.push_back(p->value);
  return values;
}

}  // namespace

FinetuneResult finetune(TrainableEncoder& student, const TrainableEncoder& teacher,
                        std::span<const Encoding> train, std::span<const Encoding> validation,
                        const FinetuneOptions& options, ThreadPool& pool, const StepCallback& on_step,
                        const EpochCallback& on_epoch) {
  if (train.empty()) fail("[train] fine-tuning needs at least one training row");
  if (options.epochs < 1 || options.batch_size < 1) fail("[train] epochs and batch size must be at least 1");
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  FinetuneResult result;
  result.metric_name = student.head() == TrainHead::Classifier ? "teacher_agreement" : "teacher_cosine";

  const int batches_per_epoch =
      static_cast<int>((train.size() + options.batch_size - 1) / options.batch_size);
  const int total_steps = batches_per_epoch * options.epochs;
  AdamWOptions adamw_options = options.adamw;
  adamw_options.total_steps = total_steps;
  adamw_options.warmup_steps = static_cast<int>(std::lround(options.warmup_ratio * total_steps));
  AdamW adamw(student.parameters(), adamw_options);
  student.refresh(options.ternary_threshold, pool);

  const Validation before = validate(student, teacher, validation, options, pool);
  EpochRecord initial;
  initial.validation = before.loss;
  initial.metric = before.metric;
  initial.seconds = elapsed();
  result.history.push_back(initial);
  if (on_epoch) on_epoch(initial);
  double best_loss = before.loss.total;
  std::vector<std::vector<float>> best_values;  // empty: the starting point is best so far
  const std::vector<std::vector<float>> initial_values =
      validation.empty() ? std::vector<std::vector<float>>{} : snapshot(student.parameters());

  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(options.seed);
  OutputGrads grads;
  std::vector<Encoding> rows;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    LossParts epoch_loss;
    double norm_sum = 0.0;
    for (int b = 0; b < batches_per_epoch; ++b) {
      rows.clear();
      const size_t first = static_cast<size_t>(b) * options.batch_size;
      for (size_t i = first; i < std::min(train.size(), first + options.batch_size); ++i)
        rows.push_back(train[order[i]]);
      const EncoderBatch batch = EncoderBatch::from_encodings(rows);
      const ForwardPass t = teacher.forward(batch, pool, nullptr, false);
      const ForwardPass s = student.forward(batch, pool);
      const LossParts loss =
          distillation_loss(s, t, student.head(), student.head_width(), options.distill, grads);
      if (!std::isfinite(loss.total))
        fail("[train] the loss became ", loss.total, " at step ", adamw.steps_taken() + 1,
             "; try a lower learning rate");
      student.parameters().zero_grads();
      student.backward(s, grads, pool);
      norm_sum += adamw.step(pool);
      student.refresh(options.ternary_threshold, pool);
      epoch_loss += loss;
      if (on_step) on_step(adamw.steps_taken(), total_steps, loss);
    }
    const Validation v = validate(student, teacher, validation, options, pool);
    EpochRecord record;
    record.epoch = epoch;
    record.steps = adamw.steps_taken();
    record.train = epoch_loss.scaled(1.0 / batches_per_epoch);
    record.validation = v.loss;
    record.metric = v.metric;
    record.learning_rate = adamw.learning_rate(adamw.steps_taken() - 1);
    record.grad_norm = norm_sum / batches_per_epoch;
    record.seconds = elapsed();
    result.history.push_back(record);
    if (on_epoch) on_epoch(record);
    if (!validation.empty() && v.loss.total < best_loss) {
      best_loss = v.loss.total;
      result.best_epoch = epoch;
      best_values = snapshot(student.parameters());
    }
  }
  if (validation.empty()) {
    result.best_epoch = options.epochs;
  } else if (result.best_epoch != options.epochs) {
    const auto& keep = result.best_epoch == 0 ? initial_values : best_values;
    auto& all = student.parameters().all();
    for (size_t i = 0; i < all.size(); ++i) all[i]->value = keep[i];
    student.refresh(options.ternary_threshold, pool);
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace qp::train
