#include "gguf/gguf_import.h"

#include <sys/stat.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/staging_dir.h"
#include "gguf/gguf_architectures.h"
#include "gguf/gguf_vocab.h"
#include "io/gguf.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "models/registry.h"
#include "quant/ggml_blocks.h"
#include "quant/pack.h"

namespace qp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using quant::GgmlType;

// One tensor to write, owning its bytes.
struct OwnedTensor {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<std::byte> bytes;
};

template <typename T>
std::vector<std::byte> as_bytes(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Merges neighbouring groups that share scale and bias in every row into the
// largest storage group quantpipe has (128, 64, 32): a tensor converted with
// group 64 comes back as group 64, so the kernels run exactly as on the
// native directory (their activation handling follows the group).
void coarsen_groups(quant::BlockCodes& c, int64_t n, int64_t k) {
  for (int group : {128, 64}) {
    if (group <= c.group || k % group != 0 || group % c.group != 0) continue;
    const int64_t per = group / c.group, groups = k / c.group;
    bool same = true;
    for (int64_t r = 0; r < n && same; ++r)
      for (int64_t g = 0; g < groups && same; ++g) {
        const size_t at = static_cast<size_t>(r * groups + g),
                     first = static_cast<size_t>(r * groups + g / per * per);
        same = c.scales[at] == c.scales[first] && c.biases[at] == c.biases[first];
      }
    if (!same) continue;
    std::vector<float> scales, biases;
    for (int64_t i = 0; i < n * groups; i += per) {
      scales.push_back(c.scales[static_cast<size_t>(i)]);
      biases.push_back(c.biases[static_cast<size_t>(i)]);
    }
    c.scales = std::move(scales);
    c.biases = std::move(biases);
    c.group = group;
    return;
  }
}

class Importer {
 public:
  Importer(const fs::path& gguf, const fs::path& dir) : file_(gguf), dir_(dir) {
    arch_ = file_.string("general.architecture");
    modern_ = arch_ == "modern-bert";
    if (arch_ != "bert" && !modern_)
      fail("[gguf] ", gguf.string(), ": architecture \"", arch_,
           "\" is not one quantpipe imports yet (bert: BERT, RoBERTa, XLM-R, DistilBERT files; modern-bert)");
    a_ = arch_ + ".";
  }

  GgufImportReport run() {
    GgufImportReport report;
    report.architecture = arch_;
    const GgufTensorInfo& embd = require_tensor("token_embd.weight");
    hidden_ = embd.ne[0];
    const int64_t vocab = embd.ne.size() > 1 ? embd.ne[1] : 1;
    head_ = file_.find_tensor("cls.output.weight") != nullptr;
    if (head_ && file_.find_tensor("cls.weight") == nullptr)
      fail(where(),
           "cls.output without cls: llama.cpp then classifies the raw [CLS] state, which no BERT head does");
    const int64_t pooling = file_.integer_or(a_ + "pooling_type", 0);
    json config = modern_ ? modernbert_config(vocab) : bert_config(vocab);
    if (head_) {
      const GgufTensorInfo& out = require_tensor("cls.output.weight");
      const int64_t labels = out.ne.size() > 1 ? out.ne[1] : 1;
      std::vector<std::string> names;
      if (const GgufValue* v = file_.find(a_ + "classifier.output_labels"))
        for (const GgufValue& item : v->items) names.push_back(item.text);
      if (static_cast<int64_t>(names.size()) != labels) {
        names.clear();
        for (int64_t i = 0; i < labels; ++i) names.push_back("LABEL_" + std::to_string(i));
      }
      json id2label = json::object(), label2id = json::object();
      for (size_t i = 0; i < names.size(); ++i) {
        id2label[std::to_string(i)] = names[i];
        label2id[names[i]] = i;
      }
      config["id2label"] = id2label;
      config["label2id"] = label2id;
      report.pooling = "rank";
    } else {
      report.pooling = pooling == 1 ? "mean" : pooling == 2 ? "cls" : "none";
      if (pooling == 1 || pooling == 2) write_pooling(pooling == 1);
      if (pooling > 2)
        report.notes.push_back("pooling type " + std::to_string(pooling) + " has no BERT counterpart");
    }
    // The architecture's tensor table for this config says which HF name each GGUF tensor becomes.
    ModelDir model;
    model.dir = dir_;
    model.config = config;
    model.model_type = config["model_type"].get<std::string>();
    const WeightStore names = WeightStore::names_only(
        dir_,
        {modern_ ? "model.embeddings.tok_embeddings.weight" : "bert.embeddings.word_embeddings.weight"});
    const TensorTable table = declare_tensors(model, names);
    const GgufArchitecture& names_of = *find_gguf_architecture(modern_ ? "modernbert" : "bert");
    json quantization = json::object();
    std::map<std::string, std::string> metadata = {{"format", "mlx"}, {"quantpipe.format_version", "1"}};
    int main_bits = 0, main_group = 0;
    for (const TensorDecl& decl : table.modules) {
      const std::optional<std::string> gguf_name = gguf_tensor_name(names_of, decl.role, decl.layer);
      if (!gguf_name) continue;
      const std::string module = decl.module;
      const GgufTensorInfo* weight = file_.find_tensor(*gguf_name + ".weight");
      int64_t first_row = 0;
      if (weight == nullptr) weight = fused_part(decl, *gguf_name, first_row);
      if (weight == nullptr) {
        if (decl.required) fail(where(), "tensor ", *gguf_name, ".weight (", module, ") is missing");
        continue;
      }
      const int64_t k = weight->ne[0];
      if (decl.shape.size() == 2 && decl.shape[1] != kAnyDim && decl.shape[1] != k)
        fail(where(), weight->name, " has rows of ", k, " values where ", module, " needs ", decl.shape[1]);
      // Rows: the declared ones (a fused tensor holds more), a head's from the file; a norm's length.
      const int64_t n = decl.shape.size() == 1                               ? k
                        : decl.shape.size() == 2 && decl.shape[0] != kAnyDim ? decl.shape[0]
                        : weight->ne.size() > 1                              ? weight->ne[1]
                                                                             : 1;
      if (decl.shape.size() == 1) {
        add_float(module + ".weight", *weight, {k}, 0, 1);
        ++report.floats;
      } else if (auto codes = quant::ggml_block_codes(weight->type, row_slice(*weight, first_row, n), n, k)) {
        coarsen_groups(*codes, n, k);
        add_codes(module, *codes, n, k);
        ++report.carried;
        const std::string scheme = std::string(codes->scheme) + "_g" + std::to_string(codes->group);
        metadata["quantpipe.scheme." + module] = scheme;
        quantization[module] = {{"group_size", codes->group}, {"bits", codes->bits}};
        if (decl.role != TensorRole::WordEmbeddings && main_bits == 0)
          main_bits = codes->bits, main_group = codes->group;
      } else {
        add_float(module + ".weight", *weight, {n, k}, first_row, n);
        ++report.floats;
        if (quant::ggml_type_info(weight->type).codes != quant::GgmlCodes::Float)
          report.notes.push_back(std::string(quant::ggml_type_info(weight->type).name) + " " + *gguf_name +
                                 " read as fp32 (its sub-block scales have no quantpipe codes)");
        else if (role_info(decl.role).quantization != RoleQuantization::Keep)
          quantization[module] = false;
      }
      if (decl.bias) {
        const GgufTensorInfo* bias = file_.find_tensor(*gguf_name + ".bias");
        int64_t bias_first = first_row;
        if (bias == nullptr && weight->name != *gguf_name + ".weight") bias = fused_bias(weight->name);
        if (bias == nullptr) bias_first = 0;
        if (bias != nullptr) {
          add_float(module + ".bias", *bias, {n}, bias_first, n, /*vector=*/true);
        } else {
          // llama.cpp allows a missing bias where BERT has one: zeros are the same layer.
          tensors_.push_back(
              {module + ".bias", DType::F32, {n}, as_bytes(std::vector<float>(static_cast<size_t>(n)))});
        }
      }
    }
    if (main_bits > 0) {
      quantization["group_size"] = main_group;
      quantization["bits"] = main_bits;
      quantization["mode"] = "affine";
      config["quantization"] = quantization;
    }
    write_file_atomic(dir_ / "config.json", config.dump(2) + "\n");
    std::vector<TensorToWrite> views;
    for (const OwnedTensor& t : tensors_) views.push_back({t.name, t.dtype, t.shape, t.bytes});
    write_safetensors(dir_ / "model.safetensors", views, metadata);
    report.tokenizer = write_tokenizer();
    const json meta = {
        {"format", "quantpipe"},
        {"format_version", kNativeFormatVersion},
        {"source", {{"path", fs::absolute(file_.path()).string()}, {"format", "gguf"}}},
        {"imported",
         {{"architecture", arch_}, {"pooling", report.pooling}, {"tokenizer", report.tokenizer}}}};
    write_file_atomic(dir_ / "quantpipe.json", meta.dump(2) + "\n");
    return report;
  }

 private:
  std::string where() const { return "[gguf] " + file_.path().string() + ": "; }

  const GgufTensorInfo& require_tensor(const std::string& name) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (t == nullptr) fail(where(), "tensor ", name, " is missing");
    return *t;
  }

  // q / k / v of a fused blk.N.attn_qkv: its rows [0, H), [H, 2H), [2H, 3H).
  const GgufTensorInfo* fused_part(const TensorDecl& decl, const std::string& name,
                                   int64_t& first_row) const {
    const int part = decl.role == TensorRole::AttnQ   ? 0
                     : decl.role == TensorRole::AttnK ? 1
                     : decl.role == TensorRole::AttnV ? 2
                                                      : -1;
    if (part < 0) return nullptr;
    const std::string fused = name.substr(0, name.rfind('.') + 1) + "attn_qkv.weight";
    const GgufTensorInfo* t = file_.find_tensor(fused);
    if (t == nullptr) return nullptr;
    if (t->ne.size() != 2 || t->ne[1] != 3 * hidden_)
      fail(where(), fused, ": expected ", 3 * hidden_, " rows");
    first_row = part * hidden_;
    return t;
  }

  const GgufTensorInfo* fused_bias(const std::string& fused_weight) const {
    return file_.find_tensor(fused_weight.substr(0, fused_weight.size() - 6) + "bias");
  }

  // Rows [first, first + count) of a tensor's bytes (ggml rows are
  // independent), refused unless the tensor has them: the row count comes
  // from the config, the tensor from the file, and a file may disagree.
  std::span<const uint8_t> row_slice(const GgufTensorInfo& t, int64_t first, int64_t count) const {
    const int64_t width = t.ne.empty() ? 0 : t.ne[0];
    const int64_t rows = width > 0 ? t.count() / width : 0;
    if (first < 0 || count < 0 || first > rows || count > rows - first)
      fail(where(), t.name, ": rows ", first, "..", first + count, " are needed but the tensor has ", rows);
    const int64_t row_bytes = quant::ggml_row_bytes(t.type, width);
    return file_.tensor_bytes(t).subspan(static_cast<size_t>(first * row_bytes),
                                         static_cast<size_t>(count * row_bytes));
  }

  void add_float(const std::string& name, const GgufTensorInfo& t, Shape shape, int64_t first_row,
                 int64_t rows, bool vector = false) {
    std::vector<float> values;
    if (vector) {  // a slice of a 1-D tensor: elements, not rows
      const std::vector<float> all = quant::ggml_dequantize(t.type, file_.tensor_bytes(t), t.count());
      if (first_row + rows > static_cast<int64_t>(all.size())) fail(where(), t.name, ": too few values");
      values.assign(all.begin() + first_row, all.begin() + first_row + rows);
    } else {
      values = quant::ggml_dequantize(t.type, row_slice(t, first_row, rows), rows * t.ne[0]);
    }
    if (shape_numel(shape) != static_cast<int64_t>(values.size()))
      fail(where(), t.name, ": ", values.size(), " values where ", name, " needs ", shape_numel(shape));
    if (!vector && (t.type == GgmlType::F16 || t.type == GgmlType::BF16)) {  // kept in its own dtype
      const auto raw = row_slice(t, first_row, rows);
      std::vector<std::byte> bytes(raw.size());
      std::memcpy(bytes.data(), raw.data(), raw.size());
      tensors_.push_back(
          {name, t.type == GgmlType::F16 ? DType::F16 : DType::BF16, std::move(shape), std::move(bytes)});
      return;
    }
    tensors_.push_back({name, DType::F32, std::move(shape), as_bytes(values)});
  }

  void add_codes(const std::string& module, const quant::BlockCodes& c, int64_t n, int64_t k) {
    std::vector<uint32_t> words;
    words.reserve(static_cast<size_t>(n * k * c.bits / 32));
    for (int64_t r = 0; r < n; ++r) {
      const std::vector<uint32_t> row =
          quant::pack_codes(std::span<const uint8_t>(c.codes.data() + r * k, static_cast<size_t>(k)), c.bits);
      words.insert(words.end(), row.begin(), row.end());
    }
    tensors_.push_back({module + ".weight", DType::U32, {n, k * c.bits / 32}, as_bytes(words)});
    tensors_.push_back({module + ".scales", DType::F32, {n, k / c.group}, as_bytes(c.scales)});
    tensors_.push_back({module + ".biases", DType::F32, {n, k / c.group}, as_bytes(c.biases)});
  }

  void write_pooling(bool mean) {
    fs::create_directories(dir_ / "1_Pooling");
    const json pooling = {{"word_embedding_dimension", hidden_},
                          {"pooling_mode_cls_token", !mean},
                          {"pooling_mode_mean_tokens", mean},
                          {"pooling_mode_max_tokens", false},
                          {"pooling_mode_mean_sqrt_len_tokens", false}};
    write_file_atomic(dir_ / "1_Pooling" / "config.json", pooling.dump(2) + "\n");
    json modules = json::array(
        {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
         {{"idx", 1},
          {"name", "1"},
          {"path", "1_Pooling"},
          {"type", "sentence_transformers.models.Pooling"}}});
    // quantpipe's own exports say what llama.cpp has no key for.
    if (const GgufValue* v = file_.find("quantpipe.normalize"); v != nullptr && v->integer != 0) {
      fs::create_directories(dir_ / "2_Normalize");
      modules.push_back({{"idx", 2},
                         {"name", "2"},
                         {"path", "2_Normalize"},
                         {"type", "sentence_transformers.models.Normalize"}});
    }
    if (const GgufValue* v = file_.find("quantpipe.max_seq_length"); v != nullptr && v->integer > 0)
      write_file_atomic(dir_ / "sentence_bert_config.json",
                        json{{"max_seq_length", v->integer}}.dump(2) + "\n");
    write_file_atomic(dir_ / "modules.json", modules.dump(2) + "\n");
  }

  // tokenizer.huggingface.json as it was; else WordPiece rebuilt from llama.cpp's tokens.
  std::string write_tokenizer() {
    if (const GgufValue* hf = file_.find("tokenizer.huggingface.json");
        hf != nullptr && hf->type == GgufType::String) {
      write_file_atomic(dir_ / "tokenizer.json", hf->text);
      return "tokenizer.huggingface.json";
    }
    const std::string model = file_.string("tokenizer.ggml.model");
    if (model == "gpt2") return write_byte_level_bpe();
    if (model != "bert")
      fail(
          where(), "tokenizer.ggml.model \"", model,
          "\" without tokenizer.huggingface.json: quantpipe rebuilds WordPiece (\"bert\") and byte-level BPE "
          "(\"gpt2\") vocabularies only");
    const GgufValue& tokens = file_.require("tokenizer.ggml.tokens");
    const GgufValue* types = file_.find("tokenizer.ggml.token_type");
    std::string vocab;
    for (size_t i = 0; i < tokens.items.size(); ++i) {
      const int64_t type = types != nullptr && i < types->items.size() ? types->items[i].integer : 1;
      const std::string t = wordpiece_from_gguf(tokens.items[i].text, static_cast<GgufTokenType>(type));
      if (t.find('\n') != std::string::npos)
        fail(where(), "token ", i, " holds a newline: no vocab.txt can keep it");
      vocab += t + "\n";
    }
    write_file_atomic(dir_ / "vocab.txt", vocab);
    auto special = [&](const char* key, const char* fallback) {
      return special_token(tokens, key, fallback);
    };
    // llama.cpp's WPM lowercases every input; BERT's uncased tokenizer does the same.
    const json config = {{"tokenizer_class", "BertTokenizer"},
                         {"do_lower_case", true},
                         {"cls_token", special("bos_token_id", "[CLS]")},
                         {"sep_token", special("seperator_token_id", "[SEP]")},
                         {"unk_token", special("unknown_token_id", "[UNK]")},
                         {"pad_token", special("padding_token_id", "[PAD]")},
                         {"mask_token", special("mask_token_id", "[MASK]")},
                         {"model_max_length", 512}};
    write_file_atomic(dir_ / "tokenizer_config.json", config.dump(2) + "\n");
    return "vocab.txt rebuilt from tokenizer.ggml.tokens";
  }

  json bert_config(int64_t vocab) const {
    const GgufTensorInfo* types = file_.find_tensor("token_types.weight");
    const GgufTensorInfo* positions = file_.find_tensor("position_embd.weight");
    if (positions == nullptr)
      fail(where(), "no position_embd.weight: only absolute-position BERT files import");
    return {{"model_type", "bert"},
            {"architectures", {head_ ? "BertForSequenceClassification" : "BertModel"}},
            {"hidden_size", hidden_},
            {"num_hidden_layers", file_.integer(a_ + "block_count")},
            {"num_attention_heads", file_.integer(a_ + "attention.head_count")},
            {"intermediate_size", file_.integer(a_ + "feed_forward_length")},
            {"max_position_embeddings", positions->ne.size() > 1 ? positions->ne[1] : 1},
            {"vocab_size", vocab},
            {"type_vocab_size", types != nullptr ? (types->ne.size() > 1 ? types->ne[1] : 1) : 0},
            {"layer_norm_eps", file_.number(a_ + "attention.layer_norm_epsilon")},
            {"hidden_act", "gelu"},
            {"position_embedding_type", "absolute"}};
  }

  // ModernBERT as llama.cpp runs it: no biases but the classifier's, GEGLU,
  // alternating global / sliding-window attention, and a RANK head that mean
  // pools and applies GELU (classifier_pooling "mean").
  json modernbert_config(int64_t vocab) const {
    return {{"model_type", "modernbert"},
            {"architectures", {head_ ? "ModernBertForSequenceClassification" : "ModernBertModel"}},
            {"hidden_size", hidden_},
            {"num_hidden_layers", file_.integer(a_ + "block_count")},
            {"num_attention_heads", file_.integer(a_ + "attention.head_count")},
            {"intermediate_size", file_.integer(a_ + "feed_forward_length")},
            {"max_position_embeddings", file_.integer(a_ + "context_length")},
            {"vocab_size", vocab},
            {"norm_eps", file_.number(a_ + "attention.layer_norm_epsilon")},
            {"local_attention", file_.integer_or(a_ + "attention.sliding_window", 128)},
            {"global_attn_every_n_layers", file_.integer_or(a_ + "attention.sliding_window_pattern", 3)},
            {"global_rope_theta",
             file_.find(a_ + "rope.freq_base") ? file_.number(a_ + "rope.freq_base") : 160000.0},
            {"local_rope_theta",
             file_.find(a_ + "rope.freq_base_swa") ? file_.number(a_ + "rope.freq_base_swa") : 10000.0},
            {"norm_bias", false},
            {"attention_bias", false},
            {"mlp_bias", false},
            {"classifier_bias", file_.find_tensor("cls.bias") != nullptr},
            {"classifier_pooling", "mean"},
            {"classifier_activation", "gelu"},
            {"hidden_activation", "gelu"}};
  }

  // The special token `key` names, else `fallback`.
  std::string special_token(const GgufValue& tokens, const char* key, const char* fallback) const {
    const GgufValue* v = file_.find(std::string("tokenizer.ggml.") + key);
    if (v == nullptr || v->integer < 0 || static_cast<size_t>(v->integer) >= tokens.items.size())
      return fallback;
    return tokens.items[static_cast<size_t>(v->integer)].text;
  }

  // RoBERTa's byte-level BPE from llama.cpp's "gpt2" keys: its tokens are the
  // byte-level strings of vocab.json and its merges those of merges.txt.
  std::string write_byte_level_bpe() {
    const GgufValue& tokens = file_.require("tokenizer.ggml.tokens");
    const GgufValue& merges = file_.require("tokenizer.ggml.merges");
    const GgufValue* types = file_.find("tokenizer.ggml.token_type");
    json vocab = json::object();
    for (size_t i = 0; i < tokens.items.size(); ++i) {
      const int64_t type = types != nullptr && i < types->items.size() ? types->items[i].integer : 1;
      if (type != 5) vocab[tokens.items[i].text] = i;  // unused placeholders were never in the vocabulary
    }
    write_file_atomic(dir_ / "vocab.json", vocab.dump() + "\n");
    std::string text = "#version: 0.2\n";
    for (const GgufValue& m : merges.items) text += m.text + "\n";
    write_file_atomic(dir_ / "merges.txt", text);
    const json config = {{"tokenizer_class", "RobertaTokenizer"},
                         {"add_prefix_space", false},
                         {"bos_token", special_token(tokens, "bos_token_id", "<s>")},
                         {"eos_token", special_token(tokens, "eos_token_id", "</s>")},
                         {"sep_token", special_token(tokens, "seperator_token_id", "</s>")},
                         {"cls_token", special_token(tokens, "bos_token_id", "<s>")},
                         {"unk_token", special_token(tokens, "unknown_token_id", "<unk>")},
                         {"pad_token", special_token(tokens, "padding_token_id", "<pad>")},
                         {"mask_token", special_token(tokens, "mask_token_id", "<mask>")},
                         {"model_max_length", 512}};
    write_file_atomic(dir_ / "tokenizer_config.json", config.dump(2) + "\n");
    return "vocab.json + merges.txt rebuilt from tokenizer.ggml.tokens / merges";
  }

  GgufFile file_;
  fs::path dir_;
  std::string arch_, a_;
  int64_t hidden_ = 0;
  bool head_ = false;
  bool modern_ = false;
  std::vector<OwnedTensor> tensors_;
};

fs::path cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    return fs::path(xdg) / "quantpipe";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".cache" / "quantpipe";
}

}  // namespace

GgufImportReport import_gguf(const fs::path& gguf, const fs::path& out, bool replace) {
  StagingDir staging(out, replace);
  GgufImportReport report = Importer(gguf, staging.path()).run();
  staging.commit();
  report.out = out;
  return report;
}

fs::path cached_gguf_import(const fs::path& gguf) {
  struct stat st {};
  if (::stat(gguf.c_str(), &st) != 0) fail(gguf.string(), ": cannot read: ", std::strerror(errno));
  Fingerprint key;
  key.add(fs::absolute(gguf).string());
  key.add(std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
          std::to_string(st.st_mtim.tv_nsec));
  const fs::path dir = cache_root() / "gguf" / (gguf.stem().string() + "-" + key.hex());
  if (fs::exists(dir / "quantpipe.json")) return dir;
  fs::create_directories(dir.parent_path());
  log_info("importing ", gguf.string(), " (GGUF) into ", dir.string());
  import_gguf(gguf, dir, true);
  return dir;
}

}  // namespace qp
