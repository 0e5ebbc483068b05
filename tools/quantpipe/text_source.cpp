#include "text_source.h"

#include <filesystem>

#include "core/error.h"
#include "pipeline/config.h"
#include "pipeline/dataset_source.h"

namespace qp::cli {

void resolve_text_source(const std::string& option, const std::vector<std::string>& configs,
                         CalibrationOptions& options) {
  const std::string name = options.file.string();
  std::error_code ec;
  // A path (a directory part or an extension) stays a file, and a missing
  // one is reported as such by the calibration reader.
  const bool path_like = options.file.has_parent_path() || options.file.has_extension();
  if (name == "corpus" || name == "synthetic" || path_like || std::filesystem::exists(options.file, ec))
    return;
  pipeline::PipelineConfig config;
  try {
    config = pipeline::load_pipeline_config(configs);
  } catch (const Error& e) {
    fail(option, " ", name, ": not a file, and it cannot be looked up as a dataset name: ", e.what());
  }
  const pipeline::DatasetConfig* dataset = config.find_dataset(name);
  if (!dataset) {
    std::string where;
    for (const std::string& p : configs) where += (where.empty() ? "" : " ") + p;
    fail(option, " ", name, ": neither a file nor a dataset name in ", where);
  }
  try {
    options.texts = pipeline::dataset_texts(*dataset, pipeline::default_dataset_cache_dir());
  } catch (const Error& e) {
    fail(option, " ", name, ": ", e.what());
  }
  options.file.clear();
  options.step = "dataset " + name;
}

}  // namespace qp::cli
