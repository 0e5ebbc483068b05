#include "train/parameters.h"

#include <algorithm>

#include "core/error.h"
#include "io/safetensors.h"

namespace qp::train {

Parameter& ParameterSet::load(const WeightStore& weights, const std::string& name, const Shape& shape,
                              bool decay) {
  if (find(name)) fail("[train] parameter '", name, "' is loaded twice");
  auto parameter = std::make_unique<Parameter>();
  parameter->name = name;
  parameter->shape = shape;
  parameter->value = weights.load_f32(name, shape);
  parameter->grad.assign(parameter->value.size(), 0.0f);
  parameter->decay = decay;
  parameters_.push_back(std::move(parameter));
  return *parameters_.back();
}

Parameter* ParameterSet::find(const std::string& name) {
  for (auto& p : parameters_)
    if (p->name == name) return p.get();
  return nullptr;
}

const Parameter* ParameterSet::find(const std::string& name) const {
  for (const auto& p : parameters_)
    if (p->name == name) return p.get();
  return nullptr;
}

void ParameterSet::zero_grads() {
  for (auto& p : parameters_) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
}

int64_t ParameterSet::numel() const {
  int64_t total = 0;
  for (const auto& p : parameters_) total += p->numel();
  return total;
}

}  // namespace qp::train
