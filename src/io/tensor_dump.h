// A TensorSink that keeps every named intermediate of the forward passes and
// writes them to one safetensors file ("batch0.layer.3.ffn_out" [rows × cols]),
// so a run can be compared layer by layer with a reference implementation.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "quantpipe/types.h"

namespace qp {

class TensorDumpSink final : public TensorSink {
 public:
  void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) override;
  // Names of each pass get the next "batchN." prefix.
  void begin_pass() override { ++batch_; }
  void write(const std::filesystem::path& path) const;
  size_t size() const { return tensors_.size(); }

 private:
  struct Stored {
    std::string name;
    int64_t rows, cols;
    std::vector<float> values;
  };
  std::vector<Stored> tensors_;
  int batch_ = -1;
};

}  // namespace qp
