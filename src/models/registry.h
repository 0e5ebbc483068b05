// Maps config.json's model_type to the architecture file that builds it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/encoder.h"

namespace qp {

using EncoderFactory = std::unique_ptr<EncoderModel> (*)(const ModelDir& model, const WeightStore& weights);

struct ArchitectureEntry {
  std::string_view model_type;  // config.json "model_type"
  std::string_view description;
  EncoderFactory create;
};

const std::vector<ArchitectureEntry>& architecture_registry();

// Throws "<dir>/config.json: model_type \"x\" is not supported (supported: bert, ...)".
std::unique_ptr<EncoderModel> create_encoder(const ModelDir& model, const WeightStore& weights);

// One per architecture file.
std::unique_ptr<EncoderModel> create_bert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_distilbert(const ModelDir& model, const WeightStore& weights);
std::unique_ptr<EncoderModel> create_roberta(const ModelDir& model, const WeightStore& weights);

}  // namespace qp
