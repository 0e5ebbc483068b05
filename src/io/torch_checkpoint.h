// pytorch_model.bin as torch.save writes it since PyTorch 1.6: a zip archive
// holding <archive>/data.pkl (a pickled dict of tensor name → tensor) and one
// entry <archive>/data/<key> per storage, stored uncompressed. Each tensor in
// the pickle is a call to torch._utils._rebuild_tensor_v2 with the storage as a
// persistent id ('storage', torch.FloatStorage, key, location, numel), a
// storage offset, a size and a stride. The pickle is read by a reader that
// executes nothing (io/pickle_reader.h) with the allow-list below, and every
// tensor becomes a view of its storage's bytes in the memory-mapped file,
// after checking its dtype, that it is contiguous and that it lies inside its
// storage. The pre-1.6 (non-zip) format is refused with a way to convert it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/zip_archive.h"

namespace qp {

class TorchCheckpoint {
 public:
  // Maps and validates the file; throws qp::Error "[torch] <path>: <problem>".
  explicit TorchCheckpoint(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return zip_.path(); }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;  // nullptr when absent

 private:
  ZipArchive zip_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
};

}  // namespace qp
