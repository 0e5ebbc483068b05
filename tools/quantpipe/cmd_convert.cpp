// quantpipe convert: a Hugging Face model directory → quantpipe's native
// quantized directory (MLX layout; see docs/FORMAT.md). One progress line per
// tensor on stderr, a size summary on stdout.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <iostream>

#include "api/convert.h"
#include "command.h"
#include "core/error.h"
#include "core/json_read.h"
#include "core/log.h"
#include "gguf_export_summary.h"
#include "quant/convert.h"
#include "quantpipe/model.h"
#include "text_source.h"

namespace qp::cli {
namespace {

struct ConvertArgs {
  std::string model, out;
  std::string bits = "4";
  int group_size = 64;
  std::string scheme = "affine";
  bool per_channel = false;
  std::string embedding = "q8_affine_g64";
  std::vector<std::string> keep, overrides;
  bool dry_run = false, force = false, emit_fp16 = false;
  float ternary_threshold = 0.5f;
  double target_size_mb = 0;
  double max_accuracy_drop = -1;
  int sensitivity_rows = 32;
  std::string reuse_sensitivity;
  std::vector<std::string> config = {"configs/*.yaml"};  // where --calibration NAME is looked up
  std::string method;                                    // "": quant::default_method
  std::string calibration;
  int calibration_samples = 128, calibration_max_length = 128;
  double gptq_damping = 0.01;
  bool act_order = false;
  std::string format = "native";
  bool half_scales = false;
  std::string gguf_type = "auto";
};

// A temporary directory beside `out` for the native conversion a GGUF export
// starts from; removed on every path out.
class ScratchDir {
 public:
  explicit ScratchDir(const std::filesystem::path& out) {
    const std::filesystem::path parent = out.has_parent_path() ? out.parent_path() : ".";
    if (!std::filesystem::is_directory(parent))
      fail(out.string(), ": directory ", parent.string(), " does not exist");
    std::string pattern = (parent / (out.filename().string() + ".native-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr)
      fail(pattern, ": cannot create a scratch directory: ", std::strerror(errno));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Parses a scheme given through `options` (e.g. "--bits 7 --group-size 64"), so
// that a refusal names what the user typed, not only the composed scheme name.
quant::QuantScheme parse_scheme_for(const std::string& options, const std::string& name) {
  try {
    return quant::parse_scheme(name);
  } catch (const Error& e) {
    fail(options, ": ", e.what());
  }
}

// --bits/--scheme/--group-size/--per-channel → a scheme name the parser checks.
quant::QuantScheme linear_scheme(const ConvertArgs& args) {
  if (args.bits == "auto") {  // mixed precision: the base kind and granularity, 4 bits where not chosen
    ConvertArgs base = args;
    base.bits = "4";
    return linear_scheme(base);
  }
  const std::string granularity = args.per_channel ? "ch" : "g" + std::to_string(args.group_size);
  const std::string given =
      "--bits " + args.bits + (args.bits == "ternary" ? "" : " --scheme " + args.scheme) +
      (args.per_channel ? " --per-channel" : " --group-size " + std::to_string(args.group_size));
  if (args.bits == "ternary") return parse_scheme_for(given, "ternary_" + granularity);
  if (args.scheme != "sym" && args.scheme != "affine")
    fail("--scheme '", args.scheme, "': expected sym or affine");
  return parse_scheme_for(given, "q" + args.bits + "_" + args.scheme + "_" + granularity);
}

std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

std::string shape_text(const Shape& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "×" : "") + std::to_string(shape[i]);
  return "[" + text + "]";
}

void print_progress(int index, int total, const quant::ConvertedTensor& t) {
  const std::string target = t.plan.scheme ? quant::format_scheme(*t.plan.scheme) : "keep";
  char line[512];
  std::snprintf(line, sizeof line, "[%3d/%3d] %-52s %-12s %s→%-16s %s→%s", index + 1, total,
                t.plan.name.c_str(), shape_text(t.plan.shape).c_str(),
                std::string(dtype_name(t.plan.dtype)).c_str(), target.c_str(), mib(t.source_bytes).c_str(),
                mib(t.stored_bytes).c_str());
  std::string text = line;
  if (t.plan.scheme) {
    std::snprintf(line, sizeof line, "  cos %.5f  rel.mse %.2e  %s", t.error.cosine, t.error.relative_mse,
                  t.method.c_str());
    text += line;
  }
  if (t.plan.fell_back) text += "  (" + t.plan.reason + ")";
  std::cerr << text << "\n";
}

void print_plan(const std::vector<quant::PlannedTensor>& plan) {
  std::cout << "| tensor | shape | dtype | action | reason |\n|---|---|---|---|---|\n";
  for (const auto& t : plan)
    std::cout << "| " << t.name << " | " << shape_text(t.shape) << " | " << dtype_name(t.dtype) << " | "
              << (t.scheme ? quant::format_scheme(*t.scheme) : "keep") << " | " << t.reason << " |\n";
}

void print_summary(const nlohmann::json& report, const std::string& out) {
  const auto& sizes = report["sizes"];
  std::cout << std::fixed << std::setprecision(3) << "wrote " << out << "\n"
            << "  whole model: " << mib(sizes["original_bytes"]) << " → " << mib(sizes["quantized_bytes"])
            << " (" << sizes["compression_ratio"].get<double>() << "× smaller)\n";
  for (const char* part : {"linear", "word_embeddings", "kept"}) {
    const auto& s = sizes[part];
    std::cout << "  " << std::left << std::setw(16) << part << std::right << mib(s["fp32_bytes"])
              << " as fp32 → " << mib(s["stored_bytes"]) << " stored (" << s["ratio_vs_fp32"].get<double>()
              << "× of fp32)\n";
  }
  std::cout << "  took " << report["timings"]["convert_seconds"].get<double>() << " s\n";
}

// The chosen bits per unit, as quantpipe.json records them.
void print_mixed_plan(const nlohmann::json& mixed) {
  std::cout << "mixed precision plan (" << mixed["units"].size() << " units, predicted output error "
            << mixed["predicted_error"].get<double>() << "):\n";
  for (const auto& unit : mixed["units"]) {
    const std::string chosen = unit["chosen"];
    for (const auto& option : unit["options"])
      if (option["scheme"] == chosen)
        std::cout << "  " << std::left << std::setw(52) << unit["name"].get<std::string>() << std::setw(16)
                  << chosen << std::right << mib(option["bytes"]) << "  error " << std::scientific
                  << std::setprecision(2) << option["error"].get<double>() << std::fixed
                  << std::setprecision(3) << "\n";
  }
  if (!mixed["calibration_drop"].is_null())
    std::cout << "  calibration drop " << mixed["calibration_drop"].get<double>() << " ("
              << mixed["drop_measure"].get<std::string>() << ")\n";
}

}  // namespace

Action configure_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  app.add_option("-m,--model", args->model,
                 "Hugging Face model directory, or a hub id org/name[@revision] (fetched into the HF cache)")
      ->required();
  app.add_option("-o,--out", args->out, "Output directory (written atomically)");
  app.add_option("--bits", args->bits,
                 "Bits of the linear weights: 8, 6, 5, 4, 3, 2, ternary, or auto (mixed precision: bits per "
                 "tensor chosen by measured sensitivity within --target-size-mb / --max-accuracy-drop)")
      ->capture_default_str();
  app.add_option("--group-size", args->group_size, "Group along K: 32, 64 or 128")->capture_default_str();
  app.add_option("--scheme", args->scheme, "sym (zero exact, scale only) or affine (scale + bias, as MLX)")
      ->capture_default_str();
  app.add_flag("--per-channel", args->per_channel, "One scale per output channel instead of per group");
  CLI::Option* embedding =
      app.add_option(
             "--embedding", args->embedding,
             "Scheme of the word embeddings, or 'keep' (with --format gguf the default is q8_sym_g32, "
             "which ggml's Q8_0 holds exactly)")
          ->capture_default_str();
  app.add_option("--keep", args->keep,
                 "Leave tensors whose HF name matches this regex unquantized (repeatable)");
  app.add_option("--override", args->overrides,
                 "REGEX=SCHEME for tensors whose name matches (repeatable; last wins)");
  app.add_option("--ternary-threshold", args->ternary_threshold,
                 "Ternary: |w| below this × absmean scale becomes 0")
      ->capture_default_str();
  app.add_option("--target-size-mb", args->target_size_mb,
                 "Whole-model size target in MB (10^6 bytes): with --bits auto the plan that loses least "
                 "within it; otherwise recorded in quantpipe.json for the size gate");
  app.add_option("--max-accuracy-drop", args->max_accuracy_drop,
                 "With --bits auto: the smallest plan whose drop on the calibration rows stays within this "
                 "(classifiers: fraction of rows whose label changes; embedding models: 1 - mean cosine)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--sensitivity-rows", args->sensitivity_rows,
                 "With --bits auto: calibration rows each sensitivity measurement runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--reuse-sensitivity", args->reuse_sensitivity,
                 "With --bits auto: quantpipe.json of an earlier --bits auto conversion of the same model, "
                 "method and calibration; its measured sensitivities are used instead of measuring again")
      ->check(CLI::ExistingFile);
  app.add_flag("--dry-run", args->dry_run, "Print the per-tensor plan and write nothing");
  app.add_flag("--force", args->force, "Replace an existing output directory");
  app.add_flag("--emit-fp16", args->emit_fp16, "Also write the dequantized fp16 model to <out>/fp16/");
  app.add_option(
      "--method", args->method,
      "rtn: round to nearest; gptq: error-compensating GPTQ over calibration text (--calibration); awq: "
      "activation-aware scales on the attention output (folded into the value projection), then rounding. "
      "Default: gptq at 3 bits or fewer and ternary (measurably better there), rtn at 4+ bits and "
      "with --bits auto");
  app.add_option(
      "--calibration", args->calibration,
      "Calibration text for gptq / awq / --bits auto: a dataset NAME of --config, .jsonl/.csv/.tsv (columns "
      "text, sentence1/sentence2, premise/hypothesis, "
      "...; or pre-tokenized input_ids), one text per line, 'corpus' (the default: 200 general English "
      "sentences shipped with quantpipe) or 'synthetic'");
  app.add_option("--config", args->config,
                 "Pipeline config files (globs) where --calibration NAME is looked up")
      ->capture_default_str();
  app.add_option("--calibration-samples", args->calibration_samples,
                 "Calibration rows, spread evenly over the file")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--calibration-max-length", args->calibration_max_length, "Tokens per calibration row")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--gptq-damping", args->gptq_damping, "GPTQ: fraction of mean diag(H) added to the diagonal")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--act-order", args->act_order,
               "GPTQ: quantize input columns in order of decreasing activation energy");
  app.add_option("--format", args->format,
                 "native (a directory, MLX layout) or gguf (one GGUF file for llama.cpp at --out: the native "
                 "conversion's codes carried into ggml blocks; see quantpipe export)")
      ->check(CLI::IsMember({"native", "gguf"}))
      ->capture_default_str();
  app.add_flag("--half-scales", args->half_scales,
               "Round scales and biases to half before choosing codes, so a later GGUF export carries them "
               "bit-exactly (always on with --format gguf)");
  app.add_option(
         "--gguf-type", args->gguf_type,
         "With --format gguf: ggml type of the linear weights (auto: the block type holding the codes "
         "exactly; Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K, Q2_K, TQ2_0, TQ1_0, F16, BF16, F32: "
         "quantized from the source)")
      ->capture_default_str();
  app.footer("Schemes (for --embedding and --override), e.g. q8_sym_ch, q4_affine_g64, ternary_g64:\n" +
             quant::weight_formats_help());
  return [args, embedding] {
    if (args->format == "gguf" && embedding->count() == 0) args->embedding = "q8_sym_g32";
    quant::ConvertOptions options;
    options.plan.linear = linear_scheme(*args);
    options.plan.quantize_embeddings = args->embedding != "keep";
    if (options.plan.quantize_embeddings)
      options.plan.embedding = parse_scheme_for("--embedding " + args->embedding, args->embedding);
    options.plan.keep = args->keep;
    for (const std::string& text : args->overrides)
      options.plan.overrides.push_back(quant::parse_override(text));
    options.quant.ternary_threshold = args->ternary_threshold;
    options.quant.half_scales = args->half_scales || args->format == "gguf";
    options.force = args->force;
    options.emit_fp16 = args->emit_fp16;
    if (args->target_size_mb > 0) options.target_size_mb = args->target_size_mb;
    options.method = !args->method.empty()  ? quant::parse_method(args->method)
                     : args->bits == "auto" ? quant::QuantMethod::Rtn
                                            : quant::default_method(options.plan.linear);
    options.gptq.damping = args->gptq_damping;
    options.gptq.act_order = args->act_order;
    std::optional<CalibrationOptions> calibration;
    std::optional<MixedPrecisionOptions> mixed;
    const bool automatic = args->bits == "auto";
    if (automatic) {
      if (args->target_size_mb <= 0 && args->max_accuracy_drop < 0)
        fail("--bits auto needs --target-size-mb and/or --max-accuracy-drop");
      mixed = MixedPrecisionOptions{};
      if (args->target_size_mb > 0) mixed->target_size_mb = args->target_size_mb;
      if (args->max_accuracy_drop >= 0) mixed->max_accuracy_drop = args->max_accuracy_drop;
      mixed->sensitivity.rows = args->sensitivity_rows;
      if (!args->reuse_sensitivity.empty()) {
        const nlohmann::json earlier = read_json_file(args->reuse_sensitivity);
        const auto plan = earlier.find("plan");
        if (plan == earlier.end() || !plan->contains("mixed_precision") ||
            (*plan)["mixed_precision"].is_null())
          fail("--reuse-sensitivity ", args->reuse_sensitivity,
               ": no plan.mixed_precision (not a --bits auto conversion)");
        mixed->previous = (*plan)["mixed_precision"];
      }
    } else if (args->max_accuracy_drop >= 0) {
      fail("--max-accuracy-drop chooses bits per tensor: use it with --bits auto");
    }
    if (!args->calibration.empty() && !quant::needs_calibration(options.method) && !automatic)
      fail("--calibration is used by --method gptq / awq and --bits auto only");
    if (automatic && options.method == quant::QuantMethod::Awq)
      fail(
          "--bits auto with --method awq: not combined yet (the AWQ scales are searched for one scheme); use "
          "rtn or gptq");
    if (quant::needs_calibration(options.method) || automatic)
      calibration = CalibrationOptions{.file = args->calibration.empty() ? "corpus" : args->calibration,
                                       .samples = args->calibration_samples,
                                       .max_length = args->calibration_max_length};
    if (calibration) resolve_text_source("--calibration", args->config, *calibration);
    args->model = resolve_model_source(args->model).string();  // a hub id → its snapshot in the HF cache
    if (args->dry_run) {
      check_model_loads(args->model);
      print_plan(quant::plan_conversion(args->model, options.plan));
      return 0;
    }
    if (args->out.empty()) fail("--out is required (unless --dry-run)");
    log_info("converting ", args->model, " → ", args->out, " (linear ",
             automatic ? "bits chosen per tensor" : quant::format_scheme(options.plan.linear), ", ",
             quant::method_name(options.method), args->method.empty() ? " by default" : "", ")");
    if (calibration)
      log_info("calibrating on ",
               calibration->file == "corpus" ? std::string("the general-text corpus shipped with quantpipe")
               : calibration->file.empty()   ? calibration->step
                                             : calibration->file.string(),
               " (", calibration->samples, " rows)");
    if (args->format == "gguf") {
      GgufExportOptions gguf;
      gguf.type = parse_gguf_type("--gguf-type", args->gguf_type);
      gguf.source = args->model;
      gguf.name = std::filesystem::path(args->model).filename().string();
      if (std::filesystem::exists(args->out) && !args->force)
        fail(args->out, ": exists; pass --force to replace it");
      const ScratchDir scratch(args->out);
      const std::filesystem::path native = scratch.path() / "native";
      convert(args->model, native, options, print_progress, calibration, mixed);
      export_gguf_with_summary(native, args->out, gguf, args->force, false);
      return 0;
    }
    const quant::ConvertReport report =
        convert(args->model, args->out, options, print_progress, calibration, mixed);
    if (mixed)
      print_mixed_plan(
          read_json_file(std::filesystem::path(args->out) / "quantpipe.json")["plan"]["mixed_precision"]);
    print_summary(report.to_json(options), args->out);
    return 0;
  };
}

}  // namespace qp::cli
