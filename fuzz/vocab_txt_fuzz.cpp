// vocab.txt (WordPiece) with tokenizer_config.json and special_tokens_map.json
// beside it, the input cut into the three at NUL bytes; a loaded tokenizer
// then encodes a text and a pair.
#include "fuzz_input.h"
#include "quantpipe/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = qp::fuzz::write_split_input(
      "vocab_txt", {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}, data, size);
  qp::fuzz::expect_clean([&] {
    const qp::Tokenizer tokenizer = qp::Tokenizer::from_dir(dir);
    tokenizer.encode("Hello, world! Ünïcödé 12345 [MASK] unaffable", std::string_view("a pair"), 16);
  });
  return 0;
}
