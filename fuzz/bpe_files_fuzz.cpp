// vocab.json + merges.txt (GPT-2 / RoBERTa byte-level BPE), the input cut
// into the two at the first NUL byte; a loaded tokenizer then encodes.
#include "fuzz_input.h"
#include "quantpipe/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = qp::fuzz::write_split_input("bpe_files", {"vocab.json", "merges.txt"}, data, size);
  qp::fuzz::expect_clean([&] {
    const qp::Tokenizer tokenizer = qp::Tokenizer::from_dir(dir);
    tokenizer.encode("Hello, world! Ünïcödé 12345 <mask> lower newest", std::string_view("a pair"), 16);
  });
  return 0;
}
