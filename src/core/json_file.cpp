#include "core/json_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_read.h"

namespace qp {

std::optional<nlohmann::json> read_json_object(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  try {
    nlohmann::json doc = parse_json(text.str(), path.string());
    if (!doc.is_object()) return std::nullopt;
    return doc;
  } catch (const Error&) {
    return std::nullopt;  // broken or half-written: the caller treats it as absent
  }
}

}  // namespace qp
