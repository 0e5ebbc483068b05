// spm.model (SentencePiece, read with libsentencepiece; DeBERTa-v2/v3); a
// loaded tokenizer then encodes.
#include "fuzz_input.h"
#include "quantpipe/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = qp::fuzz::write_split_input("spm_model", {}, data, 0);
  {
    std::ofstream out(dir / "spm.model", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  qp::fuzz::expect_clean([&] {
    const qp::Tokenizer tokenizer = qp::Tokenizer::from_dir(dir);
    tokenizer.encode("Hello, world! Ünïcödé 12345 [MASK]", std::string_view("a pair"), 16);
  });
  return 0;
}
