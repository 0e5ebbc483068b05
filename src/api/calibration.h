// Calibration for error-compensating quantization (GPTQ): run the fp32 model
// over calibration text and accumulate, for every planned linear weight, the
// second moment H = Σ xᵀx of the activations that weight multiplies.
//
// Which activation feeds which weight is a table by tensor role: the layer
// code names each linear's input ("layer.3.qkv_in", "layer.3.attn_context",
// "layer.3.ffn_in", "layer.3.ffn_up" after the activation), and the tensor
// table gives every weight its role and layer. Weights whose input the model
// does not name (heads, bottlenecks, cross-attention) get no Hessian and are
// rounded to nearest; the plan records that.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quant/activation_stats.h"
#include "quant/gptq.h"
#include "quant/plan.h"
#include "quantpipe/model.h"

namespace qp {

struct CalibrationOptions {
  // A .jsonl, .csv or .tsv file; its text columns are found by name (text,
  // sentence, sentence1, premise, query; pairs: text_pair, sentence2,
  // hypothesis); JSONL rows may be pre-tokenized ({"input_ids": [...]}) for
  // models without tokenizer files. Plain text files: one text per line.
  std::filesystem::path file;
  // Rows given directly (a pipeline dataset) instead of a file. With neither:
  // the general-text corpus shipped with quantpipe (calibration_corpus.h). The
  // file names "corpus" and "synthetic" (sentences of common English words,
  // the chain's last step) choose those two.
  std::vector<TextInput> texts;
  std::string step;      // which calibration source was chosen, for quantpipe.json ("" : from file/texts)
  int samples = 128;     // rows, spread evenly over the file
  int max_length = 128;  // tokens per row
  int batch_size = 16;
  int threads = 0;  // 0: all cores
};

struct CalibrationResult {
  // By Hugging Face weight name ("bert.encoder.layer.0.attention.self.query.weight").
  std::map<std::string, std::shared_ptr<const quant::HessianAccumulator>> hessians;
  nlohmann::json info;  // file, rows, tokens, seconds: stored in quantpipe.json
  // activation_stats.json beside the model: {"calibration": info, "inputs":
  // {"layer.0.qkv_in": {rows, mean, std, min, max, channel_absmax, consumers}}}.
  nlohmann::json activation_stats;
};

// The name of the activation a weight of `role` in `layer` multiplies, or
// nullopt when the layer code does not name it.
std::optional<std::string> linear_input_name(TensorRole role, int layer);

// The synthetic calibration text: `count` sentences of 6–14 common English
// words, deterministic.
std::vector<TextInput> synthetic_calibration_texts(int count);

// The calibration rows as the model's encodings, and where they came from
// (info: source, file, rows, tokens, max_length). Throws qp::Error naming the
// file for an unreadable or empty calibration set.
struct CalibrationSet {
  std::vector<Encoding> encodings;
  nlohmann::json info;
};
CalibrationSet read_calibration_set(const Model& model, const CalibrationOptions& options);

// Runs the fp32 model at `source` over the calibration rows. Throws qp::Error
// naming the file for an unreadable or empty calibration set.
CalibrationResult collect_hessians(const std::filesystem::path& source,
                                   const std::vector<quant::PlannedTensor>& plan,
                                   const CalibrationOptions& options);

}  // namespace qp
