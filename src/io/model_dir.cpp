#include "io/model_dir.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_read.h"

namespace qp {
namespace {

using json = nlohmann::json;

std::vector<std::string> read_architectures(const JsonFields& config) {
  std::vector<std::string> out;
  if (!config.has("architectures")) return out;
  for (const json& item : config.array("architectures"))
    out.push_back(config.string_value(item, "architectures[]"));
  return out;
}

// {"0": "negative", "1": "positive"} -> {"negative", "positive"}; indexes must be 0..N-1.
std::vector<std::string> read_id2label(const JsonFields& config) {
  const std::optional<JsonFields> map = config.object_if_present("id2label");
  if (!map) return {};
  const std::string file = config.file();
  const json* it = &map->raw();
  const size_t count = it->size();
  std::vector<std::string> labels(count);
  std::vector<bool> present(count, false);
  for (const auto& [key, value] : it->items()) {
    const bool digits = !key.empty() && key.size() <= 9 &&
                        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) fail(file, ": id2label key ", json_excerpt(key), " is not a non-negative integer");
    const size_t index = std::stoul(key);
    if (index >= count)
      fail(file, ": id2label key '", key, "' is out of range: ", count, " labels need keys 0..", count - 1);
    if (present[index]) fail(file, ": id2label index ", index, " is given twice");
    labels[index] = map->string_value(value, key);
    present[index] = true;
  }
  return labels;
}

struct PoolingKey {
  std::string_view key;
  std::optional<PoolingMode> mode;  // nullopt: a mode sentence-transformers has but quantpipe does not
};

constexpr std::array<PoolingKey, 6> kPoolingKeys = {{
    {"pooling_mode_cls_token", PoolingMode::Cls},
    {"pooling_mode_mean_tokens", PoolingMode::Mean},
    {"pooling_mode_max_tokens", PoolingMode::Max},
    {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::MeanSqrtLen},
    {"pooling_mode_weightedmean_tokens", std::nullopt},
    {"pooling_mode_lasttoken", std::nullopt},
}};

PoolingConfig read_pooling(const std::filesystem::path& module_dir) {
  const std::filesystem::path file = module_dir / "config.json";
  const json doc = read_json_object_file(file);
  const JsonFields config(doc, file.string());
  std::vector<std::string_view> enabled;
  PoolingConfig pooling;
  for (const PoolingKey& row : kPoolingKeys) {
    if (!config.boolean_or(std::string(row.key), false)) continue;
    if (!row.mode)
      fail(file.string(), ": pooling mode '", row.key,
           "' is not supported (use cls, mean, max or mean_sqrt_len)");
    enabled.push_back(row.key);
    pooling.mode = *row.mode;
  }
  if (enabled.empty())
    fail(file.string(), ": no pooling mode is enabled (expected one pooling_mode_* key set to true)");
  if (enabled.size() > 1)
    fail(file.string(), ": pooling modes '", enabled[0], "' and '", enabled[1],
         "' are both enabled; combined pooling is not supported");
  return pooling;
}

DenseModuleConfig read_dense(const std::filesystem::path& module_dir) {
  const std::filesystem::path file = module_dir / "config.json";
  const json doc = read_json_object_file(file);
  const JsonFields config(doc, file.string());
  DenseModuleConfig dense;
  dense.dir = module_dir;
  dense.in_features = static_cast<int>(config.integer("in_features", 1, kMaxConfigInt));
  dense.out_features = static_cast<int>(config.integer("out_features", 1, kMaxConfigInt));
  dense.bias = config.boolean_or("bias", true);
  dense.activation = config.string_or("activation_function", "torch.nn.modules.linear.Identity");
  return dense;
}

bool type_is(const std::string& type, std::string_view name) {
  // "sentence_transformers.models.Pooling" or a bare "Pooling".
  return type == name ||
         (type.size() > name.size() && type.ends_with(name) && type[type.size() - name.size() - 1] == '.');
}

SentenceTransformerConfig read_modules(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "modules.json";
  const json modules = read_json_file(file);
  if (!modules.is_array()) fail(file.string(), ": expected a list of modules, found ", json_kind(modules));
  SentenceTransformerConfig st;
  bool has_pooling = false;
  for (size_t i = 0; i < modules.size(); ++i) {
    const JsonFields module(modules[i], file.string(), cat("[", i, "]"));
    const std::string type = module.string("type");
    const std::string path = module.string("path");
    if (type_is(type, "Transformer")) continue;
    // Pooling and Dense are read from their folder: one inside the model
    // directory, as sentence-transformers saves them ("1_Pooling").
    const std::filesystem::path folder(path);
    if ((type_is(type, "Pooling") || type_is(type, "Dense")) &&
        (folder.empty() || folder.is_absolute() ||
         std::any_of(folder.begin(), folder.end(),
                     [](const std::filesystem::path& part) { return part == ".."; })))
      module.error("path", "is ", json_excerpt(json(path)), ", expected a folder inside the model directory");
    if (type_is(type, "Pooling")) {
      if (has_pooling) fail(file.string(), ": more than one Pooling module");
      st.pooling = read_pooling(dir / path);
      has_pooling = true;
    } else if (type_is(type, "Normalize")) {
      st.normalize = true;
    } else if (type_is(type, "Dense")) {
      st.dense.push_back(read_dense(dir / path));
    } else {
      fail(file.string(), ": module type ", json_excerpt(type),
           " is not supported (Transformer, Pooling, Dense, Normalize are)");
    }
  }
  if (!has_pooling) fail(file.string(), ": no Pooling module (sentence-transformers models need one)");
  st.max_seq_length = read_sentence_bert_max_seq_length(dir);
  return st;
}

std::string config_path(const ModelDir& model) { return (model.dir / "config.json").string(); }

JsonFields config_fields(const ModelDir& model) { return JsonFields(model.config, config_path(model)); }

}  // namespace

std::optional<int> read_sentence_bert_max_seq_length(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "sentence_bert_config.json";
  if (!std::filesystem::exists(file)) return std::nullopt;
  const json doc = read_json_object_file(file);
  const JsonFields config(doc, file.string());
  if (!config.has("max_seq_length")) return std::nullopt;
  return static_cast<int>(config.integer("max_seq_length", 1, kMaxConfigInt));
}

bool ModelDir::has_architecture(const std::string& name) const {
  return std::find(architectures.begin(), architectures.end(), name) != architectures.end();
}

ModelDir read_model_dir(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) fail(dir.string(), ": model directory not found");
  if (!std::filesystem::is_directory(dir))
    fail(dir.string(), ": is not a directory (expected a Hugging Face model directory)");
  ModelDir model;
  model.dir = dir;
  const std::filesystem::path file = dir / "config.json";
  model.config = read_json_object_file(file);
  const JsonFields config(model.config, file.string());
  model.model_type = config.string("model_type");
  model.architectures = read_architectures(config);
  model.id2label = read_id2label(config);
  if (std::filesystem::exists(dir / "modules.json")) model.sentence_transformer = read_modules(dir);
  if (std::filesystem::exists(dir / "quantpipe.json")) {
    const std::filesystem::path meta_file = dir / "quantpipe.json";
    const json meta = read_json_object_file(meta_file);
    model.native_format_version =
        static_cast<int>(JsonFields(meta, meta_file.string()).integer("format_version", 1, kMaxConfigInt));
    if (model.native_format_version > kNativeFormatVersion)
      fail(meta_file.string(), ": format version ", model.native_format_version,
           " is newer than this quantpipe reads (", kNativeFormatVersion, "); upgrade quantpipe");
  }
  return model;
}

int config_int(const ModelDir& model, const std::string& key, int min) {
  return static_cast<int>(config_fields(model).integer(key, min, kMaxConfigInt));
}

int config_int_or(const ModelDir& model, const std::string& key, int fallback, int min) {
  return static_cast<int>(config_fields(model).integer_or(key, fallback, min, kMaxConfigInt));
}

bool config_bool_or(const ModelDir& model, const std::string& key, bool fallback) {
  return config_fields(model).boolean_or(key, fallback);
}

double config_double_or(const ModelDir& model, const std::string& key, double fallback) {
  return config_fields(model).number_or(key, fallback);
}

std::string config_string_or(const ModelDir& model, const std::string& key, const std::string& fallback) {
  return config_fields(model).string_or(key, fallback);
}

}  // namespace qp
