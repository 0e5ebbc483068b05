#include "models/relative_position.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace qp {

int mpnet_relative_bucket(int key_minus_query, int num_buckets, int max_distance) {
  const int half = num_buckets / 2;
  // transformers negates first: keys after the query (positive distance) get
  // the upper half.
  const int n = -key_minus_query;
  const int base = n < 0 ? half : 0;
  const int distance = std::abs(n);
  const int exact = half / 2;
  if (distance < exact) return base + distance;
  const float log_ratio = std::log(static_cast<float>(distance) / static_cast<float>(exact));
  const float log_range = static_cast<float>(std::log(static_cast<double>(max_distance) / exact));
  const int large = exact + static_cast<int>(log_ratio / log_range * static_cast<float>(half - exact));
  return base + std::min(large, half - 1);
}

int deberta_log_bucket(int query_minus_key, int bucket_size, int max_position) {
  const int mid = bucket_size / 2;
  const int distance = std::abs(query_minus_key);
  if (distance <= mid) return query_minus_key;
  const float log_ratio = std::log(static_cast<float>(distance) / static_cast<float>(mid));
  const float log_range = std::log(static_cast<float>(static_cast<double>(max_position - 1) / mid));
  const float bucket =
      std::ceil(log_ratio / log_range * static_cast<float>(mid - 1)) + static_cast<float>(mid);
  return (query_minus_key < 0 ? -1 : 1) * static_cast<int>(bucket);
}

std::vector<int32_t> mpnet_buckets_by_offset(int length, int num_buckets, int max_distance) {
  std::vector<int32_t> buckets(2 * static_cast<size_t>(length) - 1);
  for (int offset = 1 - length; offset < length; ++offset)
    buckets[offset + length - 1] = mpnet_relative_bucket(offset, num_buckets, max_distance);
  return buckets;
}

std::vector<int32_t> deberta_positions_by_offset(int length, int bucket_size, int max_position) {
  std::vector<int32_t> positions(2 * static_cast<size_t>(length) - 1);
  for (int offset = 1 - length; offset < length; ++offset)
    positions[offset + length - 1] = deberta_log_bucket(offset, bucket_size, max_position);
  return positions;
}

std::vector<int32_t> mpnet_bucket_table(int length, int num_buckets, int max_distance) {
  std::vector<int32_t> table(static_cast<size_t>(length) * length);
  for (int i = 0; i < length; ++i)
    for (int j = 0; j < length; ++j)
      table[static_cast<size_t>(i) * length + j] = mpnet_relative_bucket(j - i, num_buckets, max_distance);
  return table;
}

std::vector<int32_t> deberta_relative_positions(int length, int bucket_size, int max_position) {
  std::vector<int32_t> table(static_cast<size_t>(length) * length);
  for (int i = 0; i < length; ++i)
    for (int j = 0; j < length; ++j)
      table[static_cast<size_t>(i) * length + j] = deberta_log_bucket(i - j, bucket_size, max_position);
  return table;
}

}  // namespace qp
