// Relative-position numbering of the encoders that have no (or not only)
// absolute positions: pure functions of two token indices, so they can be
// checked on their own against the values transformers computes.
//
// Both follow transformers' float32 arithmetic (a log in float, then a
// truncation or a ceiling), because a distance whose exact bucket lies on an
// integer boundary (MPNet: 16, 32, 64 tokens apart) lands on the side float32
// rounding puts it, and the model was trained with that rounding.
#pragma once

#include <cstdint>
#include <vector>

namespace qp {

// MPNet (T5-style, bidirectional): the bucket of key_index - query_index.
// Half the buckets are for keys before the query, half for keys after; in each
// half the first quarter of num_buckets distances are exact, the rest grow
// logarithmically up to max_distance and saturate there.
int mpnet_relative_bucket(int key_minus_query, int num_buckets, int max_distance);

// DeBERTa-v2/v3 log buckets: the bucketed value of query_index - key_index.
// Distances below bucket_size / 2 stay as they are; longer ones are compressed
// logarithmically so that max_position - 1 maps to about bucket_size / 2 - 1
// buckets past the exact range. The sign is kept.
int deberta_log_bucket(int query_minus_key, int bucket_size, int max_position);

// Both depend on i − j alone, so a sequence needs one value per offset:
// index (key − query) + length − 1 for MPNet, (query − key) + length − 1 for
// DeBERTa; 2·length − 1 values.
std::vector<int32_t> mpnet_buckets_by_offset(int length, int num_buckets, int max_distance);
std::vector<int32_t> deberta_positions_by_offset(int length, int bucket_size, int max_position);

// [length × length] tables, row = query i, column = key j.
std::vector<int32_t> mpnet_bucket_table(int length, int num_buckets, int max_distance);
std::vector<int32_t> deberta_relative_positions(int length, int bucket_size, int max_position);

}  // namespace qp
