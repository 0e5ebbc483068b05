// Plain types the public API shares with the engine: what a loaded encoder
// is, a tokenized input, how embeddings are pooled, and the hook that receives every named
// intermediate tensor of a forward pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qp {

enum class PoolingMode { Cls, Mean, Max, MeanSqrtLen };

// A tokenized input: what a tokenizer makes and the encoder reads.
struct Encoding {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  std::vector<int32_t> attention_mask;
};

struct EncoderInfo {
  std::string architecture;  // registry name, e.g. "bert"
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int max_positions = 0;
  int vocab_size = 0;  // rows of the word embeddings
  int num_labels = 0;  // 0 when the model has no classification head
};

// Receives every named intermediate tensor of a forward pass ("layer.3.ffn_out"),
// so a debug run can dump them and compare with a reference layer by layer.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  // Called before each forward pass over a batch.
  virtual void begin_pass() {}
  virtual void on_tensor(const std::string& name, const float* data, int64_t rows, int64_t cols) = 0;
};

}  // namespace qp
