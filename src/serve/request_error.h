// An answer other than 200 that a route gives, in text-embeddings-inference's
// terms: the HTTP status and its error_type ("Validation" is 413, "Tokenizer"
// 422, "Backend" 424, "Overloaded" 429, "Empty" 400, "Unhealthy" 503).
// Bodies that are not JSON, or JSON of the wrong shape, are quantpipe's own
// "Request" type (400 and 422), as TEI's web framework answers them.
#pragma once

#include <stdexcept>
#include <string>

#include "core/error.h"

namespace qp::serve {

struct ErrorKind {
  int status;
  const char* type;
};

inline constexpr ErrorKind kMalformedBody{400, "Request"};  // not JSON
inline constexpr ErrorKind kWrongShape{422, "Request"};     // JSON, but not what the route reads
inline constexpr ErrorKind kEmpty{400, "Empty"};
inline constexpr ErrorKind kValidation{413, "Validation"};  // too many inputs, too many tokens
inline constexpr ErrorKind kTokenizer{422, "Tokenizer"};
inline constexpr ErrorKind kBackend{424, "Backend"};  // the model failed, or lacks the head a route needs
inline constexpr ErrorKind kOverloaded{429, "Overloaded"};
inline constexpr ErrorKind kUnhealthy{503, "Unhealthy"};

class RequestError : public std::runtime_error {
 public:
  RequestError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  int status() const { return kind_.status; }
  const char* type() const { return kind_.type; }

 private:
  ErrorKind kind_;
};

template <typename... Parts>
[[noreturn]] void reject(ErrorKind kind, Parts&&... parts) {
  throw RequestError(kind, cat(std::forward<Parts>(parts)...));
}

}  // namespace qp::serve
