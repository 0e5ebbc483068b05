// quantpipe serve's request bodies: the JSON parser and every route's reader.
#include "fuzz_input.h"
#include "serve/api_json.h"
#include "serve/request_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qp::serve;
  nlohmann::json body;
  try {
    body = parse_body(qp::fuzz::as_text(data, size));
  } catch (const RequestError&) {
    return 0;
  }
  const auto each = [&](auto parse) {
    try {
      parse(body);
    } catch (const RequestError&) {  // 4xx: a clean refusal
    }
  };
  each(parse_embed);
  each(parse_openai_embed);
  each(parse_predict);
  each(parse_rerank);
  each(parse_tokenize);
  each(parse_zero_shot);
  return 0;
}
