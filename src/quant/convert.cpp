#include "quant/convert.h"

#include <chrono>
#include <cstring>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/half.h"
#include "core/hash.h"
#include "core/staging_dir.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "models/registry.h"
#include "quant/quantize_ref.h"

namespace qp::quant {
namespace fs = std::filesystem;

namespace {

// Owns the bytes of every tensor until the file is written.
struct OutputTensors {
  std::vector<TensorToWrite> tensors;
  std::vector<std::vector<std::byte>> buffers;

  template <typename T>
  void add(const std::string& name, DType dtype, Shape shape, const std::vector<T>& values) {
    const auto* bytes = reinterpret_cast<const std::byte*>(values.data());
    buffers.emplace_back(bytes, bytes + values.size() * sizeof(T));
    tensors.push_back({name, dtype, std::move(shape), std::span(buffers.back())});
  }
  void add_view(const TensorView& view) {
    tensors.push_back({view.name, view.dtype, view.shape, std::span(view.data, view.nbytes)});
  }
};

bool is_weight_file(const fs::path& file) {
  const std::string name = file.filename().string();
  return file.extension() == ".safetensors" || name == "model.safetensors.index.json" ||
         name.rfind("pytorch_model", 0) == 0 || name == "config.json" || name == "quantpipe.json";
}

// The architecture's tensor table, the checkpoint checked against it: a
// missing, misshaped or unexpected tensor stops the conversion before any work.
TensorTable checked_tensor_table(const ModelDir& model, const WeightStore& weights) {
  TensorTable table = declare_tensors(model, weights);
  check_tensors(table, weights, model.model_type);
  return table;
}

void copy_companion_files(const fs::path& source, const fs::path& dest) {
  for (const auto& entry : fs::directory_iterator(source)) {
    if (entry.is_regular_file() && is_weight_file(entry.path())) continue;
    fs::copy(entry.path(), dest / entry.path().filename(), fs::copy_options::recursive);
  }
}

// MLX's "quantization" block: the main scheme's group and bits, an entry for
// every quantized module (as mlx-lm writes them: mlx-embeddings otherwise
// guesses from shapes and leaves a module whose size is not a multiple of 64
// unquantized, then refuses its scales), and false for Linear/Embedding
// weights left unquantized.
nlohmann::json mlx_quantization_config(const std::vector<ConvertedTensor>& tensors, const PlanOptions& plan) {
  const int default_group = storage_group(plan.linear, 1 << 20);
  const int default_bits = weight_format(plan.linear).bits;
  nlohmann::json q = {{"group_size", default_group}, {"bits", default_bits}, {"mode", "affine"}};
  for (const ConvertedTensor& t : tensors) {
    const PlannedTensor& p = t.plan;
    if (p.action == TensorAction::Quantize) {
      const int group = storage_group(*p.scheme, p.shape[1]);
      const int bits = weight_format(*p.scheme).bits;
      q[p.module_path()] = {{"group_size", group}, {"bits", bits}};
    } else if (p.shape.size() == 2 && p.role && !p.is_bias && !role_info(*p.role).is_norm) {
      q[p.module_path()] = false;
    }
  }
  return q;
}

ConvertedTensor convert_tensor(const TensorView& view, const PlannedTensor& plan,
                               const ConvertOptions& options, OutputTensors& out, OutputTensors* fp16) {
  const QuantOptions& quant = options.quant;
  ConvertedTensor result{plan, static_cast<int64_t>(view.nbytes), view.numel() * 4, 0, {}, {}};
  const bool is_float = view.dtype == DType::F32 || view.dtype == DType::F16 || view.dtype == DType::BF16;
  std::vector<float> values;
  if (is_float) {
    values = to_f32(view);
    require_finite(values, cat("tensor '", view.name, "'"));
  }
  if (plan.action == TensorAction::Keep && plan.to_f16) {
    std::vector<uint16_t> halves(values.size());
    for (size_t i = 0; i < values.size(); ++i) halves[i] = f32_to_f16(values[i]);
    out.add(view.name, DType::F16, view.shape, halves);
    result.stored_bytes = static_cast<int64_t>(halves.size() * 2);
  } else if (plan.action == TensorAction::Keep) {
    out.add_view(view);
    result.stored_bytes = static_cast<int64_t>(view.nbytes);
  } else {
    const int64_t n = view.shape[0], k = view.shape[1];
    const auto hessian =
        options.method == QuantMethod::Gptq ? options.hessians.find(view.name) : options.hessians.end();
    const bool gptq = hessian != options.hessians.end();
    result.method = gptq ? "gptq" : options.awq_scaled.count(view.name) ? "awq" : "rtn";
    const QuantizedTensor q = gptq ? gptq_quantize(view.name, values, n, k, hessian->second->matrix(),
                                                   *plan.scheme, options.gptq, quant)
                                   : quantize_ref(view.name, values, n, k, *plan.scheme, quant);
    const std::string module = plan.module_path();
    out.add(module + ".weight", DType::U32, {n, q.words_per_row()}, q.packed);
    out.add(module + ".scales", DType::F32, {n, q.groups_per_row()}, q.scales);
    out.add(module + ".biases", DType::F32, {n, q.groups_per_row()}, q.biases);
    result.stored_bytes = static_cast<int64_t>((q.packed.size() + q.scales.size() + q.biases.size()) * 4);
    const std::vector<float> restored = q.dequantize();
    result.error = compare_tensors(values, restored);
    for (float v : restored) result.zero_weights += v == 0.0f;
    if (fp16) values = restored;
  }
  if (fp16) {
    if (!is_float) {
      fp16->add_view(view);
    } else {
      std::vector<uint16_t> halves(values.size());
      for (size_t i = 0; i < values.size(); ++i) halves[i] = f32_to_f16(values[i]);
      fp16->add(view.name, DType::F16, view.shape, halves);
    }
  }
  return result;
}

// The dequantized fp16 model, with the compression it stands for in its
// safetensors metadata (method, scheme, ratio, sparsity, fine-tuning), so the
// numbers travel with a copy that loads anywhere.
void write_fp16_dual_output(const fs::path& source, const fs::path& dir, const ModelDir& model,
                            const OutputTensors& tensors, const ConvertReport& report,
                            const ConvertOptions& options) {
  fs::create_directory(dir);
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"quantpipe.dequantized_from", "quantpipe native format " + std::to_string(kNativeFormatVersion)},
      {"quantpipe.method",
       std::string(method_name(options.method)) + (options.finetune.is_null() ? "" : "+qat")},
      {"quantpipe.linear_scheme", format_scheme(options.plan.linear)},
      {"quantpipe.compression_ratio", std::to_string(report.compression_ratio())},
      {"quantpipe.sparsity", std::to_string(report.sparsity())}};
  write_safetensors(dir / "model.safetensors", tensors.tensors, metadata);
  nlohmann::json config = model.config;
  config["torch_dtype"] = "float16";
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  copy_companion_files(source, dir);
}

}  // namespace

std::string_view method_name(QuantMethod method) {
  return method == QuantMethod::Gptq ? "gptq" : method == QuantMethod::Awq ? "awq" : "rtn";
}

QuantMethod default_method(const QuantScheme& linear) {
  return linear.kind == QuantKind::Ternary || linear.bits <= 3 ? QuantMethod::Gptq : QuantMethod::Rtn;
}

QuantMethod parse_method(std::string_view text) {
  if (text == "rtn") return QuantMethod::Rtn;
  if (text == "gptq") return QuantMethod::Gptq;
  if (text == "awq") return QuantMethod::Awq;
  fail("[quant] method '", text, "': expected rtn (round to nearest), gptq or awq");
}

int64_t ConvertReport::source_bytes() const {
  int64_t total = 0;
  for (const auto& t : tensors) total += t.source_bytes;
  return total;
}

int64_t ConvertReport::stored_bytes() const {
  int64_t total = 0;
  for (const auto& t : tensors) total += t.stored_bytes;
  return total;
}

double ConvertReport::compression_ratio() const {
  const int64_t stored = stored_bytes();
  return stored ? static_cast<double>(source_bytes()) / stored : 0.0;
}

double ConvertReport::sparsity() const {
  int64_t quantized = 0, zeros = 0;
  for (const auto& t : tensors)
    if (t.plan.action == TensorAction::Quantize) {
      quantized += t.fp32_bytes / 4;
      zeros += t.zero_weights;
    }
  return quantized ? static_cast<double>(zeros) / quantized : 0.0;
}

std::string model_fingerprint(const fs::path& dir) {
  Fingerprint fp;
  fp.add_file(dir / "config.json");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() &&
        (entry.path().extension() == ".safetensors" || entry.path().extension() == ".bin"))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    fp.add(file.filename().string());
    fp.add_file(file);
  }
  return fp.hex();
}

std::vector<PlannedTensor> plan_conversion(const fs::path& source, const PlanOptions& options) {
  const ModelDir model = read_model_dir(source);  // validates config.json first
  const WeightStore weights = WeightStore::open_dir(source);
  return make_plan(weights, checked_tensor_table(model, weights), options);
}

ConvertReport convert_model(const fs::path& source, const fs::path& out, const ConvertOptions& options,
                            const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (options.check_loads) options.check_loads(source);
  const ModelDir model = read_model_dir(source);
  // The file's tensors as they are (sizes and dtypes reported), and with the
  // replacements applied (what is converted; kept replacements stay fp32).
  WeightStore weights = WeightStore::open_dir(source);
  const std::optional<WeightStore> original =
      options.replaced_values.empty() ? std::nullopt : std::optional(WeightStore::open_dir(source));
  for (const auto& [name, values] : options.replaced_values) weights.replace_values(name, values);
  const std::vector<PlannedTensor> plan =
      make_plan(weights, checked_tensor_table(model, weights), options.plan);
  StagingDir staging(out, options.force);

  ConvertReport report;
  report.source_path = fs::absolute(source).string();
  report.source_fingerprint = model_fingerprint(source);
  report.target_size_mb = options.target_size_mb;
  OutputTensors tensors, fp16;
  std::map<std::string, std::string> metadata = {
      {"format", "mlx"}, {"quantpipe.format_version", std::to_string(kNativeFormatVersion)}};
  for (size_t i = 0; i < plan.size(); ++i) {
    const TensorView& view = weights.require(plan[i].name);
    try {
      report.tensors.push_back(
          convert_tensor(view, plan[i], options, tensors, options.emit_fp16 ? &fp16 : nullptr));
    } catch (const Error& e) {
      fail(source.string(), ": ", e.what());
    }
    if (options.replaced_values.count(plan[i].name)) {
      const TensorView& as_stored = original->require(plan[i].name);
      report.tensors.back().source_bytes = static_cast<int64_t>(as_stored.nbytes);
      report.tensors.back().plan.dtype = as_stored.dtype;
    }
    if (plan[i].scheme)
      metadata["quantpipe.scheme." + plan[i].module_path()] = format_scheme(*plan[i].scheme);
    if (progress) progress(static_cast<int>(i), static_cast<int>(plan.size()), report.tensors.back());
  }
  write_safetensors(staging.path() / "model.safetensors", tensors.tensors, metadata);
  nlohmann::json config = model.config;
  config["quantization"] = mlx_quantization_config(report.tensors, options.plan);
  write_file_atomic(staging.path() / "config.json", config.dump(2) + "\n");
  copy_companion_files(source, staging.path());
  if (!options.activation_stats.is_null())
    write_file_atomic(staging.path() / "activation_stats.json", options.activation_stats.dump(1) + "\n");
  if (options.emit_fp16)
    write_fp16_dual_output(source, staging.path() / "fp16", model, fp16, report, options);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(staging.path() / "quantpipe.json", report.to_json(options).dump(2) + "\n");
  if (options.check_loads) {
    try {
      options.check_loads(staging.path());
    } catch (const Error& e) {
      fail(out.string(), ": the converted model does not load, so it was not written (", e.what(), ")");
    }
  }
  staging.commit();
  return report;
}

}  // namespace qp::quant
