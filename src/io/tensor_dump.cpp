#include "io/tensor_dump.h"

#include <algorithm>

#include "io/safetensors_writer.h"

namespace qp {

void TensorDumpSink::on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) {
  tensors_.push_back({"batch" + std::to_string(std::max(batch_, 0)) + "." + name, rows, cols,
                      std::vector<float>(data, data + rows * cols)});
}

void TensorDumpSink::write(const std::filesystem::path& path) const {
  std::vector<TensorToWrite> out;
  out.reserve(tensors_.size());
  for (const Stored& t : tensors_)
    out.push_back({t.name, DType::F32, {t.rows, t.cols}, std::as_bytes(std::span(t.values))});
  write_safetensors(path, out, {{"producer", "quantpipe --dump-tensors"}});
}

}  // namespace qp
