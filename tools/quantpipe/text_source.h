// Where a command's text comes from (--calibration, --data): a file,
// "corpus", "synthetic", or a dataset NAME of the pipeline configs, whose
// rows (text columns as the config maps them) become the text, loaded as
// the pipeline loads them.
#pragma once

#include <string>
#include <vector>

#include "api/calibration.h"

namespace qp::cli {

// options.file holds what the user typed; a dataset name is replaced by its
// rows (options.texts, options.step = "dataset NAME"). `option` names the
// flag in errors; `configs` are the config globs the name is looked up in.
void resolve_text_source(const std::string& option, const std::vector<std::string>& configs,
                         CalibrationOptions& options);

}  // namespace qp::cli
