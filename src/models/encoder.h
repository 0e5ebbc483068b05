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
#include "quantpipe/types.h"

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
  // Sequences [begin, end) as a batch of their own.
  EncoderBatch sequences(int begin, int end) const;
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
