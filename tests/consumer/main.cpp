// A program that uses quantpipe the way an outside project does: only the
// installed public headers, linked through find_package, pkg-config or
// add_subdirectory. Loads a model, embeds two texts, quantizes the model and
// embeds again; prints one line the test checks.
#include <quantpipe/model.h>
#include <quantpipe/quantize.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const qp::Model model = qp::Model::load(argv[1], {.threads = 1});
    const auto fp32 = model.embed({{"a man plays a guitar"}, {"hello world"}});
    qp::QuantizeOptions options;
    options.scheme = "q8_sym_ch";
    options.force = true;
    const qp::QuantizeResult result = qp::quantize(argv[1], argv[2], options);
    const auto q8 = qp::Model::load(argv[2], {.threads = 1}).embed({{"a man plays a guitar"}});
    double dot = 0, a = 0, b = 0;
    for (size_t i = 0; i < q8[0].size(); ++i) {
      dot += double(fp32[0][i]) * q8[0][i];
      a += double(fp32[0][i]) * fp32[0][i];
      b += double(q8[0][i]) * q8[0][i];
    }
    std::printf("consumer ok: dim %zu, %s, cosine %.4f, %lld -> %lld bytes\n", fp32[0].size(),
                model.weight_format().c_str(), dot / std::sqrt(a * b), static_cast<long long>(result.source_bytes),
                static_cast<long long>(result.stored_bytes));
  } catch (const qp::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
