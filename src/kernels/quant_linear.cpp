// QuantLinear: load (unpack, then repack for the ISA row chosen at
// construction), and the threaded driver of the packed micro-kernels. The
// scalar arithmetic lives in ref_quant_gemm.cpp.
#include "kernels/quant_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#include "core/error.h"
#include "core/profiler.h"
#include "kernels/dispatch.h"
#include "kernels/quant_dispatch.h"

namespace qp::kernels {

const QuantKernelTable& quant_kernel_table(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return ref::kQuantTable;
    case Isa::Avx2:
      return avx2::kQuantTable;
    case Isa::Avx512:
      return avx512::kQuantTable;
    case Isa::Amx:
      return amx::kQuantTable;
  }
  return ref::kQuantTable;
}

int64_t packed_code_bytes(int n, int k, int bits) {
  return int64_t{panel_count(n, kQuantNr)} * kQuantNr * k * code_container_bits(bits) / 8;
}

void pack_quant_codes(const uint8_t* codes, int n, int k, int bits, uint8_t* dst, bool centre) {
  const int c = code_container_bits(bits);
  // Only true 8-bit codes are centred (5/6-bit ones share the byte container
  // but never saturate). Padding outputs stay 0: their dots are never stored.
  const uint32_t flip = centre && bits == 8 ? 0x80808080u : 0u;
  const int fields = 8 / c, depth = step_depth(c);
  const int steps = k / depth;
  // Four codes (depths 4·i + t, t = 0..3) are one 32-bit word; field i is that
  // word shifted by i·c bits, which stays inside each byte as codes are < 2^c.
  for (int p = 0; p < panel_count(n, kQuantNr); ++p) {
    const int rows = std::min(kQuantNr, n - p * kQuantNr);
    for (int s = 0; s < steps; ++s, dst += 128) {
      for (int j = 0; j < rows; ++j) {
        const uint8_t* row = codes + static_cast<int64_t>(p * kQuantNr + j) * k + s * depth;
        uint32_t word = 0;
        for (int i = 0; i < fields; ++i) {
          uint32_t quad;
          std::memcpy(&quad, row + 4 * i, 4);
          word |= quad << (i * c);
        }
        word ^= flip;
        std::memcpy(dst + 4 * j, &word, 4);
      }
      if (rows < kQuantNr) std::memset(dst + 4 * rows, 0, static_cast<size_t>(4 * (kQuantNr - rows)));
    }
  }
}

void pack_group_params(const float* src, int n, int groups, float* dst) {
  for (int p = 0; p < panel_count(n, kQuantNr); ++p)
    for (int g = 0; g < groups; ++g, dst += kQuantNr)
      for (int j = 0; j < kQuantNr; ++j) {
        const int row = p * kQuantNr + j;
        dst[j] = row < n ? src[static_cast<int64_t>(row) * groups + g] : 0.0f;
      }
}

namespace {

// Whether every row's groups share one scale and one bias, so the k/group
// int32 dots of a row can be one (|dot| ≤ k·255·127 stays far below 2^31 for
// any k a layer has; the float conversion rounds once, as per group it
// would round once a group).
bool groups_are_uniform(const float* scales, const float* biases, int n, int groups) {
  for (int64_t row = 0; row < n; ++row) {
    const float* s = scales + row * groups;
    const float* b = biases + row * groups;
    for (int g = 1; g < groups; ++g)
      if (s[g] != s[0] || b[g] != b[0]) return false;
  }
  return true;
}

std::unique_ptr<uint8_t[], void (*)(void*)> alloc_bytes(int64_t count) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(count, 1)) + 63) / 64 * 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  return {p, std::free};
}

}  // namespace

QuantLinear::QuantLinear(const uint8_t* codes, const float* scales, const float* biases, int n, int k,
                         int bits, int group, const float* bias)
    : n_(n), k_(k), bits_(bits), group_(group) {
  if (bits < 2 || bits > 8 || bits == 7)
    fail("[kernels] QuantLinear: ", bits, " bits is not supported (2, 3, 4, 5, 6 or 8)");
  if (n <= 0 || k <= 0 || group <= 0 || k % group != 0 || (static_cast<int64_t>(k) * bits) % 32 != 0)
    fail("[kernels] QuantLinear: bad shape n=", n, " k=", k, " group=", group, " bits=", bits);
  if (!codes || !scales || !biases) fail("[kernels] QuantLinear: codes, scales and biases are required");
  const QuantKernelTable& table = quant_kernel_table(active_isa());
  if (table.gemm_tile && packed_layout_fits(bits, group)) table_ = &table;
  const int groups = k / group;
  kernel_group_ = group;
  if (!table_) {
    code_bytes_ = static_cast<int64_t>(n) * k;
    auto unpacked = alloc_bytes(code_bytes_);
    std::memcpy(unpacked.get(), codes, static_cast<size_t>(code_bytes_));
    codes_.reset(unpacked.release());
    scales_.assign(scales, scales + static_cast<int64_t>(n) * groups);
    biases_.assign(biases, biases + static_cast<int64_t>(n) * groups);
    if (bias) bias_.assign(bias, bias + n);
    return;
  }
  code_bytes_ = packed_code_bytes(n, k, bits);
  auto repacked = alloc_bytes(code_bytes_);
  pack_quant_codes(codes, n, k, bits, repacked.get(), table.centre_8bit_codes);
  codes_.reset(repacked.release());
  const int64_t padded = int64_t{panel_count(n, kQuantNr)} * kQuantNr;
  // One group per row when the groups are the same: the first column of
  // [n][groups] is then [n][1] with stride `groups`, gathered here.
  std::vector<float> row_scales, row_biases;
  const float *packed_scales = scales, *packed_biases = biases;
  int kernel_groups = groups;
  if (groups > 1 && groups_are_uniform(scales, biases, n, groups)) {
    kernel_group_ = k;
    kernel_groups = 1;
    row_scales.resize(n);
    row_biases.resize(n);
    for (int64_t row = 0; row < n; ++row) {
      row_scales[row] = scales[row * groups];
      row_biases[row] = biases[row * groups];
    }
    packed_scales = row_scales.data();
    packed_biases = row_biases.data();
  }
  scales_.resize(padded * kernel_groups);
  biases_.resize(padded * kernel_groups);
  pack_group_params(packed_scales, n, kernel_groups, scales_.data());
  pack_group_params(packed_biases, n, kernel_groups, biases_.data());
  if (bias) {
    bias_.assign(padded, 0.0f);
    std::copy(bias, bias + n, bias_.begin());
  }
}

std::string QuantLinear::format() const {
  return "q" + std::to_string(bits_) + " g" + std::to_string(group_);
}

Isa QuantLinear::isa() const { return table_ ? table_->isa : Isa::Scalar; }

int64_t QuantLinear::weight_bytes() const {
  return code_bytes_ + 4 * static_cast<int64_t>(scales_.size() + biases_.size() + bias_.size());
}

void QuantLinear::forward(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const {
  if (m <= 0) return;
  const profile::GemmScope scope;
  if (table_)
    forward_packed(x, m, y, pool, epilogue);
  else
    forward_reference(x, m, y, pool, epilogue);
}

namespace {

// Quantizes every activation row into `xq`: plain rows [m][k] (mr = 1), or,
// for a table that reads interleaved tiles, straight into tiles of mr rows
// [tile][k/4][mr][4] (rows past m zero, see QuantTile::xq), so no second
// pass regroups them. Rows are split across threads only when there are
// enough of them to pay for the hand-off.
void quantize_rows(const QuantKernelTable& table, const float* x, int m, int k, int group, int mr, int8_t* xq,
                   float* scales, float* sums, ThreadPool& pool) {
  const profile::Scope scope(profile::Op::ActivationQuant);
  const int groups = k / group;
  const int64_t quad_stride = 4 * mr;
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int8_t* dst = xq + (r / mr) * mr * k + (r % mr) * 4;
      scales[r] = table.quantize_row(x + r * k, k, group, dst, sums + r * groups, quad_stride);
    }
  };
  if (static_cast<int64_t>(m) * k < 16384)
    rows(0, m);
  else
    pool.parallel_for(m, rows);
  for (int r = m; r % mr != 0; ++r)  // the last tile's missing rows
    for (int q = 0; q < k / 4; ++q)
      std::memset(xq + (r / mr) * mr * k + (r % mr) * 4 + q * quad_stride, 0, 4);
}

}  // namespace

void QuantLinear::forward_packed(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const {
  const QuantKernelTable& table = *table_;
  const int groups = k_ / kernel_group_;
  // Scratch that is written in full before it is read: not zeroed first. In
  // both layouts the tile starting at row r starts r·k bytes in. Interleaved
  // tiles are whole; plain rows run on, zeroed, to the table's row padding
  // (the AMX kernel loads 16 rows whatever the tile's height).
  const int mr = table.interleaved_activations ? table.mr : 1;
  const int pad = table.interleaved_activations ? table.mr : table.row_padding;
  const int64_t padded_rows = int64_t{panel_count(m, pad)} * pad;
  const auto xq = std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(padded_rows * k_));
  std::vector<float> act_scales(m), sums(static_cast<size_t>(m) * groups);
  quantize_rows(table, x, m, k_, kernel_group_, mr, xq.get(), act_scales.data(), sums.data(), pool);
  if (mr == 1) std::memset(xq.get() + int64_t{m} * k_, 0, static_cast<size_t>((padded_rows - m) * k_));

  // Row blocks of 64 tokens keep their int8 rows (64·k bytes) in L2 while a
  // panel (k·c/8·32 bytes, ≤ 96 KiB) is reused by every row tile of the block;
  // panel blocks shrink until every thread has several tasks.
  const int row_block = 64;
  const int row_blocks = (m + row_block - 1) / row_block;
  const int panels = panel_count(n_, kQuantNr);
  int panel_block = 4;
  while (panel_block > 1 && row_blocks * panel_count(panels, panel_block) < 4 * pool.size()) panel_block /= 2;
  const int panel_blocks = panel_count(panels, panel_block);
  const int64_t panel_bytes = packed_code_bytes(kQuantNr, k_, bits_);
  QuantTile base;
  base.ldx = mr > 1 ? 4 : k_;
  base.quad_stride = 4 * mr;
  base.ldg = groups;
  base.ldy = n_;
  base.k = k_;
  base.group = kernel_group_;
  base.bits = bits_;
  base.epilogue = epilogue;
  const auto run = [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int rb = static_cast<int>(task / panel_blocks), pb = static_cast<int>(task % panel_blocks);
      const int m1 = std::min(m, (rb + 1) * row_block);
      const int p1 = std::min(panels, (pb + 1) * panel_block);
      QuantTile t = base;
      for (int p = pb * panel_block; p < p1; ++p) {
        t.codes = codes_.get() + p * panel_bytes;
        t.scales = scales_.data() + static_cast<int64_t>(p) * groups * kQuantNr;
        t.biases = biases_.data() + static_cast<int64_t>(p) * groups * kQuantNr;
        t.bias = bias_.empty() ? nullptr : bias_.data() + p * kQuantNr;
        t.cols = std::min(kQuantNr, n_ - p * kQuantNr);
        for (int r = rb * row_block; r < m1; r += table.mr) {
          t.rows = std::min(table.mr, m1 - r);
          t.xq = xq.get() + static_cast<int64_t>(r) * k_;  // r is a tile's first row (64 % mr == 0)
          t.act_scale = act_scales.data() + r;
          t.group_sums = sums.data() + static_cast<int64_t>(r) * groups;
          t.y = y + static_cast<int64_t>(r) * n_ + p * kQuantNr;
          table.gemm_tile(t);
        }
      }
    }
  };
  // Handing half to a sleeping worker measured ≈ 50 µs here (2 shared cores),
  // more than a whole batch-1 BERT-base layer takes on one (≈ 2.4 M
  // multiply-adds, 15–30 µs), so products under 8 M stay on this thread.
  const int64_t tasks = static_cast<int64_t>(row_blocks) * panel_blocks;
  if (static_cast<int64_t>(m) * n_ * k_ < (int64_t{1} << 23))
    run(0, tasks);
  else
    pool.parallel_for(tasks, run);
}

}  // namespace qp::kernels
