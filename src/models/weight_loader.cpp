#include "models/weight_loader.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/uninitialized.h"
#include "io/model_dir.h"
#include "kernels/quant_linear.h"
#include "kernels/stacked_linear.h"
#include "quant/pack.h"

namespace qp {
namespace {

// A quantized weight checked against the expected [out × in]: its packed
// words (MLX's layout: codes LSB-first in U32 words), scales and biases.
struct PackedWeight {
  const TensorView* view = nullptr;
  const uint32_t* words = nullptr;  // into the mapping, or into `aligned`
  std::vector<uint32_t> aligned;    // a copy, when the mapped bytes are not 4-byte aligned
  int64_t words_per_row = 0;
  std::vector<float> scales, biases;
  int bits = 0, group = 0;
};

// Codes read out of the file's packing into one code per byte. The kernels
// never see a file's packing.
struct QuantizedWeight {
  UninitializedVector<uint8_t> codes;  // [out × in], or empty when unpacked into a caller's buffer
  std::vector<float> scales, biases;
  int bits = 0, group = 0;
};

bool is_quantized(const WeightStore& weights, const std::string& prefix) {
  return weights.find(prefix + ".scales") != nullptr;
}

PackedWeight read_packed(const WeightStore& weights, const std::string& prefix, int out, int in) {
  const TensorView& packed = weights.require(prefix + ".weight");
  const std::string where = weights.dir().string() + ": " + prefix;
  if (out <= 0 || in <= 0) fail(where, ".weight: the config gives it shape [", out, ", ", in, "]");
  if (packed.dtype != DType::U32 || packed.shape.size() != 2 || packed.shape[0] != out)
    fail(where, ".weight: expected U32 codes of shape [", out, ", …], got ", dtype_name(packed.dtype), " ",
         shape_string(packed.shape));
  PackedWeight q;
  q.view = &packed;
  q.words_per_row = packed.shape[1];
  q.bits = static_cast<int>(q.words_per_row * 32 / in);
  if (q.words_per_row * 32 % in != 0 || q.bits < 2 || q.bits > 8 || q.bits == 7)
    fail(where, ".weight: ", q.words_per_row, " words per row do not hold ", in, " codes of 2–8 bits");
  const TensorView& scales = weights.require(prefix + ".scales");
  if (scales.shape.size() != 2 || scales.shape[0] != out || scales.shape[1] <= 0 || in % scales.shape[1] != 0)
    fail(where, ".scales: shape ", shape_string(scales.shape), " does not divide [", out, ", ", in,
         "] into groups");
  q.group = static_cast<int>(in / scales.shape[1]);
  q.scales = weights.load_f32(prefix + ".scales", scales.shape);
  q.biases = weights.load_f32(prefix + ".biases", scales.shape);
  q.words = reinterpret_cast<const uint32_t*>(packed.data);
  if (reinterpret_cast<uintptr_t>(packed.data) % alignof(uint32_t) != 0) {
    q.aligned.resize(packed.nbytes / 4);
    std::memcpy(q.aligned.data(), packed.data, packed.nbytes);
    q.words = q.aligned.data();
  }
  return q;
}

// Unpacks checked codes into `codes_out` ([out × in] bytes) when given, else
// into the returned codes. Callers allocate codes_out only after read_packed
// has checked the tensors: out × in comes from the config, and only the
// packed tensor's size bounds it.
QuantizedWeight unpack(PackedWeight packed, int out, int in, uint8_t* codes_out = nullptr) {
  QuantizedWeight q;
  q.bits = packed.bits;
  q.group = packed.group;
  q.scales = std::move(packed.scales);
  q.biases = std::move(packed.biases);
  if (!codes_out) {
    q.codes.resize(static_cast<size_t>(out) * in);
    codes_out = q.codes.data();
  }
  for (int r = 0; r < out; ++r)
    quant::unpack_codes_into(packed.words + r * packed.words_per_row, q.bits, in,
                             codes_out + static_cast<size_t>(r) * in);
  return q;
}

QuantizedWeight read_quantized(const WeightStore& weights, const std::string& prefix, int out, int in) {
  return unpack(read_packed(weights, prefix, out, in), out, in);
}

std::vector<float> optional_bias(const WeightStore& weights, const std::string& prefix, int out, bool bias) {
  return bias ? weights.load_f32(prefix + ".bias", {out}) : std::vector<float>{};
}

}  // namespace

bool is_quantized_weight(const WeightStore& weights, const std::string& prefix) {
  return is_quantized(weights, prefix);
}

StoredCodes load_stored_codes(const WeightStore& weights, const std::string& prefix, int64_t out,
                              int64_t in) {
  if (out > kMaxConfigInt || in > kMaxConfigInt)
    fail(weights.dir().string(), ": ", prefix, ".weight: shape [", out, ", ", in, "] is too large");
  PackedWeight packed = read_packed(weights, prefix, static_cast<int>(out), static_cast<int>(in));
  StoredCodes result;
  result.codes.resize(static_cast<size_t>(out * in));
  QuantizedWeight q =
      unpack(std::move(packed), static_cast<int>(out), static_cast<int>(in), result.codes.data());
  result.scales = std::move(q.scales);
  result.biases = std::move(q.biases);
  result.bits = q.bits;
  result.group = q.group;
  return result;
}

LinearPtr load_linear(const WeightStore& weights, const std::string& prefix, int out, int in, bool bias) {
  const std::vector<float> b = optional_bias(weights, prefix, out, bias);
  const float* bias_ptr = bias ? b.data() : nullptr;
  if (is_quantized(weights, prefix)) {
    const QuantizedWeight q = read_quantized(weights, prefix, out, in);
    return std::make_unique<kernels::QuantLinear>(q.codes.data(), q.scales.data(), q.biases.data(), out, in,
                                                  q.bits, q.group, bias_ptr);
  }
  const std::vector<float> w = weights.load_f32(prefix + ".weight", {out, in});
  return std::make_unique<kernels::LinearF32>(w.data(), out, in, bias_ptr);
}

LinearPtr load_stacked_linear(const WeightStore& weights, const std::vector<std::string>& prefixes,
                              int out_each, int in) {
  size_t quantized = 0;
  for (const std::string& p : prefixes) quantized += is_quantized(weights, p);
  std::vector<float> bias;
  for (const std::string& p : prefixes) {
    const std::vector<float> part = weights.load_f32(p + ".bias", {out_each});
    bias.insert(bias.end(), part.begin(), part.end());
  }
  const int total = static_cast<int>(prefixes.size()) * out_each;
  if (quantized == 0) {
    std::vector<float> w;
    for (const std::string& p : prefixes) {
      const std::vector<float> part = weights.load_f32(p + ".weight", {out_each, in});
      w.insert(w.end(), part.begin(), part.end());
    }
    return std::make_unique<kernels::LinearF32>(w.data(), total, in, bias.data());
  }
  if (quantized == prefixes.size()) {
    // Each part's codes go straight into their rows of the stacked weight,
    // allocated once every part is checked.
    std::vector<PackedWeight> packed;
    for (const std::string& p : prefixes) packed.push_back(read_packed(weights, p, out_each, in));
    UninitializedVector<uint8_t> codes(static_cast<size_t>(total) * in);
    std::vector<QuantizedWeight> parts;
    for (size_t i = 0; i < prefixes.size(); ++i)
      parts.push_back(
          unpack(std::move(packed[i]), out_each, in, codes.data() + i * static_cast<size_t>(out_each) * in));
    const bool same_format = std::all_of(parts.begin(), parts.end(), [&](const QuantizedWeight& q) {
      return q.bits == parts[0].bits && q.group == parts[0].group;
    });
    if (same_format) {
      std::vector<float> scales, biases;
      for (const QuantizedWeight& q : parts) {
        scales.insert(scales.end(), q.scales.begin(), q.scales.end());
        biases.insert(biases.end(), q.biases.begin(), q.biases.end());
      }
      return std::make_unique<kernels::QuantLinear>(codes.data(), scales.data(), biases.data(), total, in,
                                                    parts[0].bits, parts[0].group, bias.data());
    }
  }
  std::vector<LinearPtr> layers;
  for (const std::string& p : prefixes) layers.push_back(load_linear(weights, p, out_each, in));
  return std::make_unique<kernels::StackedLinear>(std::move(layers));
}

EmbeddingTable EmbeddingTable::load(const WeightStore& weights, const std::string& name, int rows,
                                    int width) {
  EmbeddingTable table;
  table.rows_ = rows;
  table.width_ = width;
  const std::string suffix = ".weight";
  const std::string prefix = name.substr(0, name.size() - suffix.size());
  if (name.size() > suffix.size() && is_quantized(weights, prefix)) {
    // The packed words stay where they are, in the mapped file: a lookup
    // unpacks its row. Nothing is copied at load, and only the rows that
    // tokens use are ever read from disk (a 30,522-row vocabulary).
    PackedWeight q = read_packed(weights, prefix, rows, width);
    table.mapping_ = q.aligned.empty() ? weights.mapping_of(*q.view) : nullptr;
    if (table.mapping_) {
      table.words_ = q.words;
    } else {
      table.own_words_ = q.aligned.empty() ? std::vector<uint32_t>(q.words, q.words + q.view->nbytes / 4)
                                           : std::move(q.aligned);
      table.words_ = table.own_words_.data();
    }
    table.words_per_row_ = q.words_per_row;
    table.bits_ = q.bits;
    table.scales_ = std::move(q.scales);
    table.biases_ = std::move(q.biases);
    table.group_ = q.group;
  } else {
    table.values_ = weights.load_f32(name, {rows, width});
  }
  return table;
}

void EmbeddingTable::add_row(int r, float* out) const {
  if (!words_) {
    const float* row = &values_[static_cast<size_t>(r) * width_];
    for (int i = 0; i < width_; ++i) out[i] += row[i];
    return;
  }
  thread_local std::vector<uint8_t> codes;
  codes.resize(static_cast<size_t>(width_));
  quant::unpack_codes_into(words_ + static_cast<int64_t>(r) * words_per_row_, bits_, width_, codes.data());
  const size_t groups = static_cast<size_t>(width_ / group_);
  const float* scales = &scales_[r * groups];
  const float* biases = &biases_[r * groups];
  for (int i = 0; i < width_; ++i) out[i] += scales[i / group_] * codes[i] + biases[i / group_];
}

}  // namespace qp
