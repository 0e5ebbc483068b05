// tokenizer.json: every normalizer, pre-tokenizer, model and post-processor
// it can name; a loaded tokenizer then encodes a fixed text and a pair.
#include "fuzz_input.h"
#include "quantpipe/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qp::fuzz::write_input("tokenizer.json", data, size);
  qp::fuzz::expect_clean([&] {
    const qp::Tokenizer tokenizer = qp::Tokenizer::from_tokenizer_json(path);
    tokenizer.encode("Hello, world! Ünïcödé text: 12345 [MASK] <s>", std::string_view("a pair"), 16);
    tokenizer.encode_without_special_tokens("another text");
  });
  return 0;
}
