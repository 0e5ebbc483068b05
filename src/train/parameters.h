// The trainable tensors of a model, by Hugging Face name: the fp32 value
// (the shadow weight when the tensor is quantized), its gradient, and the
// value the forward uses — the value itself, or for a tensor the quantized
// model stores in a scheme, the value quantized and dequantized with that
// scheme exactly as `convert` does (fake quantization, fake_quant.h). The
// backward treats the quantizer as the identity (straight-through
// estimator): the gradient with respect to the forward value updates the
// shadow value.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/scheme.h"

namespace qp {
class WeightStore;
}

namespace qp::train {

struct Parameter {
  std::string name;
  Shape shape;
  std::vector<float> value;
  std::vector<float> grad;
  std::optional<quant::QuantScheme> scheme;  // set: the forward sees the value quantized
  std::vector<float> quantized;              // the fake-quantized value (when scheme is set)
  bool decay = true;                         // weight decay applies (not to biases and norms)
  bool trainable = true;

  int64_t numel() const { return static_cast<int64_t>(value.size()); }
  // What the forward multiplies with.
  const float* forward_value() const { return scheme ? quantized.data() : value.data(); }
};

class ParameterSet {
 public:
  // Loads `name` from the store as fp32 with the expected shape.
  Parameter& load(const WeightStore& weights, const std::string& name, const Shape& shape, bool decay);
  // Adds a parameter with these values (count must match the shape).
  Parameter& add(const std::string& name, const Shape& shape, std::vector<float> values, bool decay);
  Parameter* find(const std::string& name);
  const Parameter* find(const std::string& name) const;
  std::vector<std::unique_ptr<Parameter>>& all() { return parameters_; }
  const std::vector<std::unique_ptr<Parameter>>& all() const { return parameters_; }
  void zero_grads();
  int64_t numel() const;

 private:
  std::vector<std::unique_ptr<Parameter>> parameters_;
};

}  // namespace qp::train
