// The interface every encoder architecture implements, and the packed batch
// it runs on. Sequences are concatenated without padding (T rows in all);
// seq_offsets[s]..seq_offsets[s+1] are the rows of sequence s.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "tokenize/tokenizer.h"

namespace qp {

struct EncoderBatch {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  std::vector<int32_t> seq_offsets{0};

  int num_sequences() const { return static_cast<int>(seq_offsets.size()) - 1; }
  int total_tokens() const { return seq_offsets.back(); }
  int length(int s) const { return seq_offsets[s + 1] - seq_offsets[s]; }

  // Drops padding (attention_mask == 0) and concatenates.
  static EncoderBatch from_encodings(std::span<const Encoding> encodings);
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

struct EncoderInfo {
  std::string architecture;  // registry name, e.g. "bert"
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int max_positions = 0;
  int vocab_size = 0;  // rows of the word embeddings
  int num_labels = 0;  // 0 when the model has no classification head
};

class EncoderModel {
 public:
  virtual ~EncoderModel() = default;
  virtual const EncoderInfo& info() const = 0;

  // Last hidden state, [total_tokens × hidden_size].
  virtual std::vector<float> encode(const EncoderBatch& batch, ThreadPool& pool,
                                    TensorSink* sink = nullptr) const = 0;

  // Classification logits [num_sequences × num_labels] from encode()'s output.
  // Throws when the model has no classification head.
  virtual std::vector<float> classify(const EncoderBatch& batch, const std::vector<float>& hidden,
                                      ThreadPool& pool, TensorSink* sink = nullptr) const = 0;
};

}  // namespace qp
