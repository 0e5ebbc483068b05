#include "gguf/gguf_export.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/json_read.h"
#include "core/log.h"
#include "gguf/gguf_architectures.h"
#include "gguf/gguf_vocab.h"
#include "io/gguf.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "models/registry.h"
#include "models/weight_loader.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using quant::GgmlType;

// llama.cpp's pooling types (enum llama_pooling_type).
enum class LlamaPooling : uint32_t { None = 0, Mean = 1, Cls = 2, Last = 3, Rank = 4 };

// Block types a quantized tensor's codes are tried in, smallest first.
constexpr GgmlType kCarryOrder[] = {GgmlType::TQ2_0, GgmlType::Q4_0, GgmlType::Q4_1,
                                    GgmlType::Q5_0,  GgmlType::Q5_1, GgmlType::Q8_0};

// llama.cpp's tensor_type_fallback (src/llama-quant.cpp): the type a row
// that does not split into the asked type's blocks gets instead; F16 when
// neither fits.
constexpr std::pair<GgmlType, GgmlType> kFallbacks[] = {
    {GgmlType::Q2_K, GgmlType::Q4_0},  {GgmlType::Q3_K, GgmlType::Q4_0}, {GgmlType::TQ1_0, GgmlType::Q4_0},
    {GgmlType::TQ2_0, GgmlType::Q4_0}, {GgmlType::Q4_K, GgmlType::Q5_0}, {GgmlType::Q5_K, GgmlType::Q5_1},
    {GgmlType::Q6_K, GgmlType::Q8_0}};

GgmlType fallback_type(GgmlType type, int64_t k, std::string& note) {
  const quant::GgmlTypeInfo& info = quant::ggml_type_info(type);
  if (k % info.block == 0) return type;
  GgmlType next = GgmlType::F16;
  for (const auto& [from, to] : kFallbacks)
    if (from == type && k % quant::ggml_type_info(to).block == 0) next = to;
  note = cat("rows of ", k, " do not split into ", info.name, " blocks of ", info.block, ": ",
             quant::ggml_type_info(next).name, " as llama.cpp falls back");
  return next;
}

// llama.cpp's general.file_type (enum llama_ftype) of the main weight type.
uint32_t llama_file_type(GgmlType type) {
  static const std::map<GgmlType, uint32_t> kFileTypes = {
      {GgmlType::F32, 0},   {GgmlType::F16, 1},    {GgmlType::Q4_0, 2},  {GgmlType::Q4_1, 3},
      {GgmlType::Q8_0, 7},  {GgmlType::Q5_0, 8},   {GgmlType::Q5_1, 9},  {GgmlType::Q2_K, 10},
      {GgmlType::Q3_K, 12}, {GgmlType::Q4_K, 15},  {GgmlType::Q5_K, 17}, {GgmlType::Q6_K, 18},
      {GgmlType::BF16, 32}, {GgmlType::TQ1_0, 36}, {GgmlType::TQ2_0, 37}};
  const auto it = kFileTypes.find(type);
  return it == kFileTypes.end() ? 0 : it->second;
}

std::vector<uint8_t> float_bytes(std::span<const float> values, GgmlType type) {
  return quant::ggml_quantize(type, values, static_cast<int64_t>(values.size()));
}

// The fp32 source a native directory was converted from, when it is at hand.
std::optional<WeightStore> open_source(const ModelDir& model, const GgufExportOptions& options) {
  fs::path source = options.source;
  if (source.empty() && model.native_format_version > 0 && fs::exists(model.dir / "quantpipe.json")) {
    const nlohmann::json info = read_json_object_file(model.dir / "quantpipe.json");
    if (info.contains("source") && info["source"].is_object() && info["source"].contains("path") &&
        info["source"]["path"].is_string())
      source = info["source"]["path"].get<std::string>();
  }
  if (source.empty() || !fs::exists(source)) return std::nullopt;
  return WeightStore::open_dir(source);
}

class Exporter {
 public:
  Exporter(const fs::path& dir, const GgufExportOptions& options)
      : options_(options), model_(read_model_dir(dir)), weights_(WeightStore::open_dir(dir)) {
    arch_ = find_gguf_architecture(model_.model_type);
    if (arch_ == nullptr)
      fail((dir / "config.json").string(), ": model_type \"", model_.model_type,
           "\" has no llama.cpp architecture; GGUF export supports ", gguf_model_types());
    table_ = declare_tensors(model_, weights_);
    source_ = open_source(model_, options);
  }

  GgufExportReport run(const fs::path& out, const GgufProgressFn& progress) {
    GgufExportReport report;
    report.path = out;
    report.architecture = std::string(arch_->arch);
    const std::string a(arch_->arch);
    writer_.set("general.architecture", GgufValue::string(a));
    writer_.set("general.name",
                GgufValue::string(options_.name.empty() ? model_.dir.filename().string() : options_.name));
    writer_.set("general.quantization_version", GgufValue::u32(2));

    const int hidden = config_int(model_, std::string(arch_->hidden));
    const int offset = arch_->positions_after_padding ? config_int_or(model_, "pad_token_id", 1, 0) + 1 : 0;
    writer_.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(
                                           config_int_or(model_, "max_position_embeddings", 512) - offset)));
    writer_.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(hidden)));
    writer_.set(a + ".feed_forward_length",
                GgufValue::u32(static_cast<uint32_t>(config_int(model_, std::string(arch_->intermediate)))));
    writer_.set(a + ".block_count",
                GgufValue::u32(static_cast<uint32_t>(config_int(model_, std::string(arch_->layers)))));
    writer_.set(a + ".attention.head_count",
                GgufValue::u32(static_cast<uint32_t>(config_int(model_, std::string(arch_->heads)))));
    writer_.set(a + ".attention.layer_norm_epsilon",
                GgufValue::f32(static_cast<float>(
                    config_double_or(model_, std::string(arch_->eps), arch_->default_eps))));
    writer_.set(a + ".attention.causal", GgufValue::boolean(false));
    if (arch_->arch == "modern-bert") set_modernbert_keys(a);

    const bool head = choose_head(report);
    set_pooling(a, head, report);

    std::vector<const TensorDecl*> modules;
    for (const TensorDecl& decl : table_.modules)
      if (weights_.find(decl.weight()) != nullptr) modules.push_back(&decl);
    size_t done = 0;
    for (const TensorDecl* decl : modules) {
      if (progress) progress(done, modules.size(), decl->module);
      ++done;
      const std::optional<std::string> name = gguf_name(*decl, head);
      if (!name) {
        report.notes.push_back("left out " + decl->module + " (llama.cpp does not use it)");
        continue;
      }
      add_weight(*decl, *name, offset, report);
      if (decl->bias && weights_.find(decl->bias_name()) != nullptr) add_bias(*decl, *name, report);
    }
    if (progress) progress(done, modules.size(), "");

    const TensorDecl& embeddings = table_.require(TensorRole::WordEmbeddings);
    const int64_t rows = weights_.require(embeddings.weight()).shape.at(0);
    write_gguf_vocab(writer_, read_gguf_vocab(model_.dir, rows));
    // llama.cpp's BERT loader needs the count even without a token_types tensor (DistilBERT):
    // 1, as its converter writes, and the tensor stays optional.
    uint32_t token_types = 1;
    if (const TensorDecl* types = table_.find(TensorRole::TokenTypeEmbeddings);
        types != nullptr && weights_.find(types->weight()) != nullptr)
      token_types = static_cast<uint32_t>(weights_.require(types->weight()).shape.at(0));
    writer_.set("tokenizer.ggml.token_type_count", GgufValue::u32(token_types));
    writer_.set("general.file_type", GgufValue::u32(llama_file_type(main_type())));
    writer_.write(out);
    report.file_bytes = static_cast<int64_t>(fs::file_size(out));
    return report;
  }

 private:
  void set_modernbert_keys(const std::string& a) {
    writer_.set(a + ".attention.sliding_window",
                GgufValue::u32(static_cast<uint32_t>(config_int_or(model_, "local_attention", 128))));
    writer_.set(
        a + ".attention.sliding_window_pattern",
        GgufValue::u32(static_cast<uint32_t>(config_int_or(model_, "global_attn_every_n_layers", 3))));
    writer_.set(a + ".rope.freq_base",
                GgufValue::f32(static_cast<float>(config_double_or(model_, "global_rope_theta", 160000.0))));
    writer_.set(a + ".rope.freq_base_swa",
                GgufValue::f32(static_cast<float>(config_double_or(model_, "local_rope_theta", 10000.0))));
    writer_.set(a + ".vocab_size",
                GgufValue::u32(static_cast<uint32_t>(config_int_or(model_, "vocab_size", 50368))));
  }

  // Whether the classification head goes in (as llama.cpp's RANK pooling).
  bool choose_head(GgufExportReport& report) const {
    const TensorDecl* out = table_.find(TensorRole::HeadOut);
    if (out == nullptr || weights_.find(out->weight()) == nullptr) return false;
    if (arch_->head == GgufHead::None) {
      report.notes.push_back("classification head left out: llama.cpp applies tanh where " +
                             model_.model_type + " applies ReLU, so its scores would differ");
      return false;
    }
    return true;
  }

  void set_pooling(const std::string& a, bool head, GgufExportReport& report) {
    std::optional<LlamaPooling> pooling;
    if (head) {
      pooling = LlamaPooling::Rank;
      report.pooling = "rank";
      std::vector<std::string> labels = model_.id2label;
      if (labels.empty()) labels.push_back("LABEL_0");
      writer_.set(a + ".classifier.output_labels", GgufValue::strings(labels));
    } else if (model_.sentence_transformer) {
      const PoolingMode mode = model_.sentence_transformer->pooling.mode;
      if (mode == PoolingMode::Mean) pooling = LlamaPooling::Mean, report.pooling = "mean";
      if (mode == PoolingMode::Cls) pooling = LlamaPooling::Cls, report.pooling = "cls";
      if (!pooling)
        report.notes.push_back("the model pools by max or mean/sqrt(len), which llama.cpp has not");
      // What llama.cpp has no key for, for quantpipe reading the file back.
      if (model_.sentence_transformer->normalize)
        writer_.set("quantpipe.normalize", GgufValue::boolean(true));
      if (model_.sentence_transformer->max_seq_length)
        writer_.set("quantpipe.max_seq_length",
                    GgufValue::u32(static_cast<uint32_t>(*model_.sentence_transformer->max_seq_length)));
      if (!model_.sentence_transformer->dense.empty())
        fail(model_.dir.string(),
             ": sentence-transformers Dense modules (2_Dense) have no llama.cpp counterpart");
    }
    if (pooling)
      writer_.set(a + ".pooling_type", GgufValue::u32(static_cast<uint32_t>(*pooling)));
    else
      report.pooling = "none";
  }

  std::optional<std::string> gguf_name(const TensorDecl& decl, bool head) const {
    switch (decl.role) {
      case TensorRole::Pooler:
        if (!head || arch_->head != GgufHead::PoolerThenOut) return std::nullopt;
        break;
      case TensorRole::HeadDense:
      case TensorRole::HeadNorm:
      case TensorRole::HeadOut:
        if (!head) return std::nullopt;
        break;
      default:
        break;
    }
    return gguf_tensor_name(*arch_, decl.role, decl.layer);
  }

  // The weight's fp32 values: the source's when it holds them, else the stored ones dequantized.
  std::vector<float> floats(const TensorDecl& decl, int64_t n, int64_t k, const StoredCodes* codes,
                            GgufTensorOrigin& origin) const {
    if (source_ && source_->find(decl.weight()) != nullptr) {
      const TensorView& view = source_->require(decl.weight());
      if (view.shape == Shape{n, k}) {
        origin = GgufTensorOrigin::FromSource;
        return source_->load_f32(decl.weight(), {n, k});
      }
    }
    if (codes == nullptr) {
      origin = GgufTensorOrigin::FromSource;
      return weights_.load_f32(decl.weight(), {n, k});
    }
    origin = GgufTensorOrigin::FromDequantized;
    std::vector<float> w(static_cast<size_t>(n * k));
    const int64_t groups = k / codes->group;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < k; ++i) {
        const size_t g = static_cast<size_t>(r * groups + i / codes->group);
        w[static_cast<size_t>(r * k + i)] =
            codes->scales[g] * codes->codes[static_cast<size_t>(r * k + i)] + codes->biases[g];
      }
    return w;
  }

  static std::optional<std::vector<uint8_t>> carry(GgmlType type, const StoredCodes& c, int64_t n,
                                                   int64_t k) {
    std::vector<uint8_t> out;
    const int64_t groups = k / c.group;
    for (int64_t r = 0; r < n; ++r) {
      const quant::CodeRow row{c.codes.data() + r * k, c.scales.data() + r * groups,
                               c.biases.data() + r * groups, k, c.group};
      auto blocks = quant::ggml_carry_codes(type, row);
      if (!blocks) return std::nullopt;
      out.insert(out.end(), blocks->begin(), blocks->end());
    }
    return out;
  }

  void add_weight(const TensorDecl& decl, const std::string& name, int position_offset,
                  GgufExportReport& report) {
    const TensorView& view = weights_.require(decl.weight());
    if (view.shape.size() == 1) {  // a norm's scale: F32, as llama.cpp wants every 1-D tensor
      const std::vector<float> w = weights_.load_f32(decl.weight(), view.shape);
      add({name + ".weight", decl.weight(), GgmlType::F32, GgufTensorOrigin::Copied, "", 0}, {view.shape[0]},
          float_bytes(w, GgmlType::F32), report);
      return;
    }
    const bool quantized = is_quantized_weight(weights_, decl.module);
    const int64_t n = view.shape.at(0);
    GgufExportedTensor row{name + ".weight", decl.weight(), GgmlType::F32, GgufTensorOrigin::Copied, "", 0};
    std::vector<uint8_t> bytes;
    int64_t rows = n;

    if (decl.role == TensorRole::PositionEmbeddings || decl.role == TensorRole::TokenTypeEmbeddings) {
      // llama.cpp never quantizes these; RoBERTa's first pad_token_id + 1 rows are never looked up.
      std::vector<float> w = weights_.load_f32(decl.weight(), {n, view.shape.at(1)});
      const int64_t skip = decl.role == TensorRole::PositionEmbeddings ? position_offset : 0;
      w.erase(w.begin(), w.begin() + skip * view.shape.at(1));
      rows = n - skip;
      bytes = float_bytes(w, GgmlType::F32);
      add(row, {view.shape.at(1), rows}, std::move(bytes), report);
      return;
    }

    // The linear weights take the asked type. Float word embeddings take Q8_0 with a quantized
    // type (llama.cpp's choice for rows of 384; never a K-quant here) and the type itself with a
    // float one; quantized embeddings and kept tensors (heads) stay as converted.
    const bool linear = role_info(decl.role).quantization == RoleQuantization::Linear;
    std::optional<GgmlType> embedding_type;
    if (options_.type && decl.role == TensorRole::WordEmbeddings)
      embedding_type = quant::ggml_type_info(*options_.type).codes == quant::GgmlCodes::Float
                           ? *options_.type
                           : GgmlType::Q8_0;
    const GgmlType* wanted = linear && options_.type ? &*options_.type
                             : embedding_type        ? &*embedding_type
                                                     : nullptr;
    if (quantized) {
      if (!linear) wanted = nullptr;  // a converted embedding keeps its codes
      const int64_t k_in = infer_k(decl);
      const StoredCodes codes = load_stored_codes(weights_, decl.module, n, k_in);
      // The asked type (after llama.cpp's fallback), else each block type smallest first;
      // the codes go in unchanged where the type holds them, else Q8_0 / the type from floats.
      std::vector<GgmlType> candidates(std::begin(kCarryOrder), std::end(kCarryOrder));
      if (wanted) candidates = {fallback_type(*wanted, k_in, row.note)};
      row.type = wanted ? candidates.front() : GgmlType::Q8_0;
      for (GgmlType type : candidates)
        if (auto carried = carry(type, codes, n, k_in)) {
          row.type = type;
          bytes = std::move(*carried);
          row.origin = GgufTensorOrigin::Carried;
          break;
        }
      if (bytes.empty() && !wanted) row.note = "no ggml block type holds these codes exactly";
      if (bytes.empty()) bytes = quantize_floats(row, floats(decl, n, k_in, &codes, row.origin), k_in);
      add(row, {k_in, n}, std::move(bytes), report, linear);
      return;
    }
    const int64_t kk = view.shape.at(1);
    if (wanted) {
      row.type = fallback_type(*wanted, kk, row.note);
      bytes = quantize_floats(row, floats(decl, n, kk, nullptr, row.origin), kk);
    } else {
      row.type = view.dtype == DType::F16    ? GgmlType::F16
                 : view.dtype == DType::BF16 ? GgmlType::BF16
                                             : GgmlType::F32;
      bytes = float_bytes(weights_.load_f32(decl.weight(), {n, kk}), row.type);
    }
    add(row, {kk, n}, std::move(bytes), report, linear);
  }

  // K of a quantized weight (its U32 words hide it): the declared input width.
  int64_t infer_k(const TensorDecl& decl) const {
    if (decl.shape.size() == 2 && decl.shape[1] != kAnyDim) return decl.shape[1];
    return config_int(model_, std::string(arch_->hidden));
  }

  std::vector<uint8_t> quantize_floats(GgufExportedTensor& row, const std::vector<float>& w,
                                       int64_t k) const {
    const quant::GgmlTypeInfo& info = quant::ggml_type_info(row.type);
    if (info.quantize == nullptr)
      fail("GGUF export: quantpipe cannot write ", info.name, " tensors (", row.source_name,
           "); choose Q8_0, Q5_1, Q5_0, Q4_1, Q4_0, TQ2_0, TQ1_0, F16, BF16 or F32");
    return quant::ggml_quantize(row.type, w, k);
  }

  void add_bias(const TensorDecl& decl, const std::string& name, GgufExportReport& report) {
    const TensorView& view = weights_.require(decl.bias_name());
    const std::vector<float> b = weights_.load_f32(decl.bias_name(), view.shape);
    GgufExportedTensor row{name + ".bias", decl.bias_name(), GgmlType::F32, GgufTensorOrigin::Copied, "", 0};
    add(row, {static_cast<int64_t>(b.size())}, float_bytes(b, GgmlType::F32), report);
  }

  void add(GgufExportedTensor row, std::vector<int64_t> ne, std::vector<uint8_t> bytes,
           GgufExportReport& report, bool linear = false) {
    row.bytes = static_cast<int64_t>(bytes.size());
    if (linear) linear_bytes_[row.type] += row.bytes;
    writer_.add_tensor({row.gguf_name, row.type, std::move(ne), std::move(bytes)});
    report.tensors.push_back(std::move(row));
  }

  // The type most of the linear weights' bytes are in: llama.cpp's general.file_type.
  GgmlType main_type() const {
    GgmlType best = GgmlType::F32;
    int64_t most = -1;
    for (const auto& [type, n] : linear_bytes_)
      if (n > most) best = type, most = n;
    return best;
  }

  GgufExportOptions options_;
  ModelDir model_;
  WeightStore weights_;
  const GgufArchitecture* arch_ = nullptr;
  TensorTable table_;
  std::optional<WeightStore> source_;
  GgufWriter writer_;
  std::map<GgmlType, int64_t> linear_bytes_;  // bytes written per type, linear weights only
};

}  // namespace

std::string_view gguf_origin_name(GgufTensorOrigin origin) {
  switch (origin) {
    case GgufTensorOrigin::Carried:
      return "codes carried";
    case GgufTensorOrigin::FromSource:
      return "quantized from source";
    case GgufTensorOrigin::FromDequantized:
      return "quantized from dequantized";
    case GgufTensorOrigin::Copied:
      return "copied";
  }
  return "?";
}

GgufExportReport export_gguf(const fs::path& model_dir, const fs::path& out, const GgufExportOptions& options,
                             const GgufProgressFn& progress) {
  Exporter exporter(model_dir, options);
  return exporter.run(out, progress);
}

}  // namespace qp
