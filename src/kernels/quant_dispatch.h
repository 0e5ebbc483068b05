// The quantized-GEMM dispatch table: one row per ISA, parallel to KernelTable
// in dispatch.h. QuantLinear picks its row from active_isa() when it is built
// and repacks its codes once into that row's layout.
//
// Packed code layout (shared by the AVX2 and AVX-512 rows). Output rows are
// grouped in panels of kQuantNr = 32 (zero codes past n). Codes are stored in a
// container of c bits: c = 2 for 2-bit (and ternary), 4 for 3- and 4-bit, 8 for
// 5-, 6- and 8-bit, so low-bit weights move fewer bytes. A "step" covers
// 4·(8/c) consecutive k and takes 128 bytes: byte 4·j + t (j = output in the
// panel, t = 0..3) holds, in bit field i (bits [i·c, (i+1)·c)), the code of
// output j at depth k0 + 4·i + t. Expanding field i of the 128 bytes with a
// shift and a mask gives exactly vpdpbusd's operand: 32 lanes of 4 consecutive
// u8 codes, one lane per output. Steps run over k in order; a panel holds
// k·c/8·32 bytes. Scales and biases are repacked to [panel][group][32] floats.
#pragma once

#include <cstdint>

#include "core/cpu_isa.h"
#include "kernels/kernels.h"

namespace qp::kernels {

constexpr int kQuantNr = 32;

// Container width for `bits`-bit codes (see the layout above).
inline int code_container_bits(int bits) { return bits <= 2 ? 2 : bits <= 4 ? 4 : 8; }
// Depth covered by one 128-byte step.
inline int step_depth(int container_bits) { return 4 * 8 / container_bits; }

// One micro-kernel call: `rows` activation rows × one 32-wide panel, whole k.
struct QuantTile {
  // Quantized activations: the 4 x_q at depth 4·q.. of row r start at
  // xq + r·ldx + q·quad_stride. Plain rows: ldx = k, quad_stride = 4. Tables
  // with interleaved_activations get tiles of mr rows interleaved per quad:
  // ldx = 4, quad_stride = 4·mr, so one tile reads one sequential stream.
  const int8_t* xq = nullptr;
  int64_t ldx = 0;
  int64_t quad_stride = 4;
  const float* act_scale = nullptr;   // [rows]: a = absmax/127 of each row
  const float* group_sums = nullptr;  // rows × groups Σ x_q per group (as float), stride ldg
  int64_t ldg = 0;
  const uint8_t* codes = nullptr;  // one packed panel
  const float* scales = nullptr;   // [groups][32]
  const float* biases = nullptr;   // [groups][32]
  const float* bias = nullptr;     // [32] zero-padded, or null
  float* y = nullptr;              // rows × cols, row stride ldy
  int64_t ldy = 0;
  int rows = 0;  // 1..mr
  int cols = 0;  // 1..32 valid outputs
  int k = 0;
  int group = 0;
  int bits = 0;  // the code width (2..8); the kernel derives the container
  Epilogue epilogue = Epilogue::None;
};

struct QuantKernelTable {
  Isa isa;
  int mr;  // activation rows per micro-kernel call; 0: no packed path (scalar)
  // x_q = rint(x/a) clamped to ±127, a = absmax/127 returned (0 for a zero
  // row, NaN for a non-finite one, x_q then zero); group_sums[g] = Σ x_q over
  // group g. Bit-identical to quantize_activation_row. The 4 values at depth
  // 4·q.. go to x_q + q·quad_stride: 4 for a plain row, 4·mr to write one row
  // of an interleaved tile directly (see QuantTile::xq).
  float (*quantize_row)(const float* x, int k, int group, int8_t* x_q, float* group_sums,
                        int64_t quad_stride);
  void (*gemm_tile)(const QuantTile& tile);
  // Peak probe: `iterations` rounds of independent int8 dot products held in
  // registers, peak_ops_per_iteration ops (multiply + add = 2) each.
  int32_t (*int8_peak)(int64_t iterations);
  int peak_ops_per_iteration;
  // Whether this row's packed 8-bit codes are stored centred (q xor 0x80,
  // i.e. q − 128 as int8); 2- to 6-bit codes are never centred.
  bool centre_8bit_codes = false;
  // Whether gemm_tile reads activations interleaved in tiles of mr rows (see
  // QuantTile::xq); otherwise plain rows.
  bool interleaved_activations = false;
  // Plain rows are zero-padded to a multiple of this many: a kernel that
  // loads whole blocks of rows (AMX: 16-row tiles) reads that far past m.
  int row_padding = 1;
};

// The row for `isa`.
const QuantKernelTable& quant_kernel_table(Isa isa);

// Whether the packed kernels take this shape: every group must be whole
// steps, or QuantLinear falls back to the scalar reference.
inline bool packed_layout_fits(int bits, int group) {
  return group % step_depth(code_container_bits(bits)) == 0;
}
// Bytes of the packed codes of n outputs × k.
int64_t packed_code_bytes(int n, int k, int bits);
// Repacks codes[n][k] (one byte per code) into the layout above; `centre`
// stores 8-bit codes as q − 128 (see QuantKernelTable::centre_8bit_codes).
void pack_quant_codes(const uint8_t* codes, int n, int k, int bits, uint8_t* dst, bool centre = false);
// Repacks per-(row, group) floats [n][groups] to [panel][groups][32], zero-padded.
void pack_group_params(const float* src, int n, int groups, float* dst);

namespace ref {
extern const QuantKernelTable kQuantTable;
}
namespace avx2 {
extern const QuantKernelTable kQuantTable;
}
namespace avx512 {
extern const QuantKernelTable kQuantTable;
}
// AMX-INT8 tiles over the AVX-512 packing (it falls back to that row's kernel
// for groups that are not whole 64-depth tile rows and for 1–2 tokens).
namespace amx {
extern const QuantKernelTable kQuantTable;
}

}  // namespace qp::kernels
