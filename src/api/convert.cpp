#include "quantpipe/model.h"
#include "quantpipe/quantize.h"

namespace qp {

void check_model_loads(const std::filesystem::path& dir) {
  // One thread: only the loading matters, and a pool of idle workers would
  // cost a thread per core for nothing.
  Model::load(dir, {.threads = 1});
}

quant::ConvertReport convert(const std::filesystem::path& source, const std::filesystem::path& out,
                             quant::ConvertOptions options, const quant::ProgressFn& progress) {
  options.check_loads = check_model_loads;
  return quant::convert_model(source, out, options, progress);
}

}  // namespace qp
