#include "io/model_dir.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace qp {
namespace {

using json = nlohmann::json;

// Reads a JSON file; errors name the file and, for syntax errors, the position.
json read_json(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) fail(path.string(), ": file not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    fail(path.string(), ": invalid JSON at byte ", e.byte, " (", e.what(), ")");
  }
}

json read_json_object(const std::filesystem::path& path) {
  json value = read_json(path);
  if (!value.is_object()) fail(path.string(), ": expected a JSON object, found ", value.type_name());
  return value;
}

std::string string_at(const json& object, const std::string& key, const std::filesystem::path& file) {
  const auto it = object.find(key);
  if (it == object.end()) fail(file.string(), ": missing key '", key, "'");
  if (!it->is_string()) fail(file.string(), ": key '", key, "' is ", it->type_name(), ", expected a string");
  return it->get<std::string>();
}

bool bool_or(const json& object, const std::string& key, bool fallback, const std::filesystem::path& file) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    fail(file.string(), ": key '", key, "' is ", it->type_name(), ", expected a boolean");
  return it->get<bool>();
}

int int_at(const json& object, const std::string& key, const std::filesystem::path& file) {
  const auto it = object.find(key);
  if (it == object.end()) fail(file.string(), ": missing key '", key, "'");
  if (!it->is_number_integer())
    fail(file.string(), ": key '", key, "' is ", it->dump(), " (", it->type_name(), "), expected an integer");
  const int64_t value = it->get<int64_t>();
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int>::max()))
    fail(file.string(), ": key '", key, "' is ", it->dump(), ", out of the int range");
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
    fail(file.string(), ": key '", key, "' is ", it->dump(), ", out of the int range");
  return static_cast<int>(value);
}

std::vector<std::string> read_architectures(const json& config, const std::filesystem::path& file) {
  std::vector<std::string> out;
  const auto it = config.find("architectures");
  if (it == config.end() || it->is_null()) return out;
  if (!it->is_array())
    fail(file.string(), ": key 'architectures' is ", it->type_name(), ", expected a list of strings");
  for (const json& item : *it) {
    if (!item.is_string())
      fail(file.string(), ": key 'architectures' holds ", item.dump(), ", expected strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// {"0": "negative", "1": "positive"} -> {"negative", "positive"}; indexes must be 0..N-1.
std::vector<std::string> read_id2label(const json& config, const std::filesystem::path& file) {
  const auto it = config.find("id2label");
  if (it == config.end() || it->is_null()) return {};
  if (!it->is_object()) fail(file.string(), ": key 'id2label' is ", it->type_name(), ", expected an object");
  const size_t count = it->size();
  std::vector<std::string> labels(count);
  std::vector<bool> present(count, false);
  for (const auto& [key, value] : it->items()) {
    const bool digits = !key.empty() && key.size() <= 9 &&
                        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) fail(file.string(), ": id2label key '", key, "' is not a non-negative integer");
    const size_t index = std::stoul(key);
    if (index >= count)
      fail(file.string(), ": id2label key '", key, "' is out of range: ", count, " labels need keys 0..",
           count - 1);
    if (present[index]) fail(file.string(), ": id2label index ", index, " is given twice");
    if (!value.is_string())
      fail(file.string(), ": id2label '", key, "' is ", value.type_name(), ", expected a string");
    labels[index] = value.get<std::string>();
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
  const json config = read_json_object(file);
  std::vector<std::string_view> enabled;
  PoolingConfig pooling;
  for (const PoolingKey& row : kPoolingKeys) {
    if (!bool_or(config, std::string(row.key), false, file)) continue;
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
  const json config = read_json_object(file);
  DenseModuleConfig dense;
  dense.dir = module_dir;
  dense.in_features = int_at(config, "in_features", file);
  dense.out_features = int_at(config, "out_features", file);
  if (dense.in_features <= 0 || dense.out_features <= 0)
    fail(file.string(), ": in_features and out_features must be positive, found ", dense.in_features, " and ",
         dense.out_features);
  dense.bias = bool_or(config, "bias", true, file);
  dense.activation = config.contains("activation_function") ? string_at(config, "activation_function", file)
                                                            : "torch.nn.modules.linear.Identity";
  return dense;
}

bool type_is(const std::string& type, std::string_view name) {
  // "sentence_transformers.models.Pooling" or a bare "Pooling".
  return type == name ||
         (type.size() > name.size() && type.ends_with(name) && type[type.size() - name.size() - 1] == '.');
}

SentenceTransformerConfig read_modules(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "modules.json";
  const json modules = read_json(file);
  if (!modules.is_array()) fail(file.string(), ": expected a list of modules, found ", modules.type_name());
  SentenceTransformerConfig st;
  bool has_pooling = false;
  for (const json& module : modules) {
    if (!module.is_object()) fail(file.string(), ": module ", module.dump(), " is not an object");
    const std::string type = string_at(module, "type", file);
    const std::string path = string_at(module, "path", file);
    if (type_is(type, "Transformer")) continue;
    if (type_is(type, "Pooling")) {
      if (has_pooling) fail(file.string(), ": more than one Pooling module");
      st.pooling = read_pooling(dir / path);
      has_pooling = true;
    } else if (type_is(type, "Normalize")) {
      st.normalize = true;
    } else if (type_is(type, "Dense")) {
      st.dense.push_back(read_dense(dir / path));
    } else {
      fail(file.string(), ": module type '", type,
           "' is not supported (Transformer, Pooling, Dense, Normalize are)");
    }
  }
  if (!has_pooling) fail(file.string(), ": no Pooling module (sentence-transformers models need one)");
  return st;
}

std::filesystem::path config_path(const ModelDir& model) { return model.dir / "config.json"; }

}  // namespace

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
  model.config = read_json_object(file);
  model.model_type = string_at(model.config, "model_type", file);
  model.architectures = read_architectures(model.config, file);
  model.id2label = read_id2label(model.config, file);
  if (std::filesystem::exists(dir / "modules.json")) model.sentence_transformer = read_modules(dir);
  if (std::filesystem::exists(dir / "quantpipe.json")) {
    const std::filesystem::path meta_file = dir / "quantpipe.json";
    model.native_format_version = int_at(read_json_object(meta_file), "format_version", meta_file);
    if (model.native_format_version > kNativeFormatVersion)
      fail(meta_file.string(), ": format version ", model.native_format_version,
           " is newer than this quantpipe reads (", kNativeFormatVersion, "); upgrade quantpipe");
  }
  return model;
}

int config_int(const ModelDir& model, const std::string& key) {
  return int_at(model.config, key, config_path(model));
}

int config_int_or(const ModelDir& model, const std::string& key, int fallback) {
  const auto it = model.config.find(key);
  if (it == model.config.end() || it->is_null()) return fallback;
  return int_at(model.config, key, config_path(model));
}

double config_double_or(const ModelDir& model, const std::string& key, double fallback) {
  const auto it = model.config.find(key);
  if (it == model.config.end() || it->is_null()) return fallback;
  if (!it->is_number())
    fail(config_path(model).string(), ": key '", key, "' is ", it->dump(), " (", it->type_name(),
         "), expected a number");
  return it->get<double>();
}

std::string config_string_or(const ModelDir& model, const std::string& key, const std::string& fallback) {
  const auto it = model.config.find(key);
  if (it == model.config.end() || it->is_null()) return fallback;
  if (!it->is_string())
    fail(config_path(model).string(), ": key '", key, "' is ", it->dump(), " (", it->type_name(),
         "), expected a string");
  return it->get<std::string>();
}

}  // namespace qp
