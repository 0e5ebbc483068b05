// The one exception type quantpipe throws: every message names the file (or
// option) and the problem, e.g. "[safetensors] model.safetensors: tensor 'x'
// ends at byte 912 but the file has 800".
#pragma once

#include <stdexcept>
#include <string>

namespace qp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace qp
