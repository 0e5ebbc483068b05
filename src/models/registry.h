// Maps config.json's model_type to the architecture file that builds it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/encoder.h"
#include "models/tensor_table.h"

namespace qp {

using EncoderFactory = std::unique_ptr<EncoderModel> (*)(const ModelDir& model, const WeightStore& weights);
// The architecture's tensors for this config (and checkpoint layout: prefixes).
using TensorTableFactory = TensorTable (*)(const ModelDir& model, const WeightStore& weights);

struct ArchitectureEntry {
  std::string_view model_type;  // config.json "model_type"
  std::string_view description;
  EncoderFactory create;
  TensorTableFactory declare;
};

const std::vector<ArchitectureEntry>& architecture_registry();

// Throws "<dir>/config.json: model_type \"x\" is not supported (supported: bert, ...)".
std::unique_ptr<EncoderModel> create_encoder(const ModelDir& model, const WeightStore& weights);

// The tensor table of the model's architecture; throws as create_encoder for an unknown model_type.
TensorTable declare_tensors(const ModelDir& model, const WeightStore& weights);

// One pair per architecture file.
std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights);
TensorTable declare_bert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_distilbert(const ModelDir& model, const WeightStore& weights);
TensorTable declare_distilbert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights);
TensorTable declare_roberta(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_electra(const ModelDir& model, const WeightStore& weights);
TensorTable declare_electra(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_mpnet(const ModelDir& model, const WeightStore& weights);
TensorTable declare_mpnet(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_deberta_v2(const ModelDir& model, const WeightStore& weights);
TensorTable declare_deberta_v2(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_modernbert(const ModelDir& model, const WeightStore& weights);
TensorTable declare_modernbert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_mobilebert(const ModelDir& model, const WeightStore& weights);
TensorTable declare_mobilebert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_bart(const ModelDir& model, const WeightStore& weights);
TensorTable declare_bart(const ModelDir& model, const WeightStore& weights);

}  // namespace qp
