#include "core/error.h"
#include "models/encoder.h"

namespace qp {

EncoderBatch EncoderBatch::from_encodings(std::span<const Encoding> encodings) {
  EncoderBatch batch;
  for (const Encoding& enc : encodings) {
    const bool has_types = !enc.token_type_ids.empty();
    const bool has_mask = !enc.attention_mask.empty();
    for (size_t i = 0; i < enc.input_ids.size(); ++i) {
      if (has_mask && enc.attention_mask[i] == 0) continue;
      batch.input_ids.push_back(enc.input_ids[i]);
      batch.token_type_ids.push_back(has_types ? enc.token_type_ids[i] : 0);
    }
    if (static_cast<int>(batch.input_ids.size()) == batch.seq_offsets.back())
      fail("a sequence in the batch has no tokens");
    batch.seq_offsets.push_back(static_cast<int32_t>(batch.input_ids.size()));
  }
  return batch;
}

EncoderBatch EncoderBatch::sequences(int begin, int end) const {
  if (begin < 0 || end > num_sequences() || begin > end)
    fail("internal: sequences [", begin, ", ", end, ") of a batch of ", num_sequences());
  EncoderBatch part;
  const int first = seq_offsets[begin], last = seq_offsets[end];
  part.input_ids.assign(input_ids.begin() + first, input_ids.begin() + last);
  part.token_type_ids.assign(token_type_ids.begin() + first, token_type_ids.begin() + last);
  for (int s = begin + 1; s <= end; ++s) part.seq_offsets.push_back(seq_offsets[s] - first);
  return part;
}

}  // namespace qp
