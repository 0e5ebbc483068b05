// Errors: exceptions inside the library, turned into one clear line and an exit
// code at main(). Messages name where and what: "[safetensors] model.safetensors:
// tensor 'x' ends at byte 912 but the file has 800".
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "quantpipe/error.h"

namespace qp {

// Concatenates any streamable values into a string.
template <typename... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

// Throws qp::Error with the concatenated message.
template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

}  // namespace qp
