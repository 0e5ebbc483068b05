// ggml's K-quants (super-blocks of 256 values with 16 or 8 sub-block scales):
// scalar reference quantizers (ggml-quants.c's quantize_row_q*_K_ref, without
// an importance matrix, as llama-quantize runs them) and dequantizers,
// checked byte for byte against llama.cpp itself (tests/golden/gguf/kquants.json).
#pragma once

#include <cstdint>

namespace qp::quant {

void quantize_row_q2_k(const float* x, int64_t k, uint8_t* out);
void quantize_row_q3_k(const float* x, int64_t k, uint8_t* out);
void quantize_row_q4_k(const float* x, int64_t k, uint8_t* out);
void quantize_row_q5_k(const float* x, int64_t k, uint8_t* out);
void quantize_row_q6_k(const float* x, int64_t k, uint8_t* out);

void dequantize_row_q2_k(const uint8_t* in, int64_t k, float* out);
void dequantize_row_q3_k(const uint8_t* in, int64_t k, float* out);
void dequantize_row_q4_k(const uint8_t* in, int64_t k, float* out);
void dequantize_row_q5_k(const uint8_t* in, int64_t k, float* out);
void dequantize_row_q6_k(const uint8_t* in, int64_t k, float* out);

}  // namespace qp::quant
