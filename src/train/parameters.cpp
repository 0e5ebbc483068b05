#include "train/parameters.h"

#include <algorithm>

#include "core/error.h"
#include "io/safetensors.h"

namespace qp::train {

Parameter& ParameterSet::load(const WeightStore& weights, const std::string& name, const Shape& shape,
                              bool decay) {
  return add(name, shape, weights.load_f32(name, shape), decay);
}

Parameter& ParameterSet::add(const std::string& name, const Shape& shape, std::vector<float> values,
                             bool decay) {
  if (find(name)) fail("[train] parameter '", name, "' is added twice");
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  if (count != static_cast<int64_t>(values.size()))
    fail("[train] parameter '", name, "' has ", values.size(), " values for a shape of ", count);
  auto parameter = std::make_unique<Parameter>();
  parameter->name = name;
  parameter->shape = shape;
  parameter->value = std::move(values);
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
