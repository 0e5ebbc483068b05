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
    case Isa::Amx:
      return avx512::kQuantTable;
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
  const uint8_t flip = centre && bits == 8 ? 0x80 : 0x00;
  const int fields = 8 / c, depth = step_depth(c);
  const int steps = k / depth;
  for (int p = 0; p < panel_count(n, kQuantNr); ++p)
    for (int s = 0; s < steps; ++s, dst += 128) {
      std::memset(dst, 0, 128);
      for (int j = 0; j < kQuantNr && p * kQuantNr + j < n; ++j) {
        const uint8_t* row = codes + static_cast<int64_t>(p * kQuantNr + j) * k + s * depth;
        for (int i = 0; i < fields; ++i)
          for (int t = 0; t < 4; ++t)
            dst[4 * j + t] |= static_cast<uint8_t>((row[4 * i + t] ^ flip) << (i * c));
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
  auto unpacked = alloc_bytes(static_cast<int64_t>(n) * k);
  std::memcpy(unpacked.get(), codes, static_cast<size_t>(n) * k);
  if (!table_) {
    code_bytes_ = static_cast<int64_t>(n) * k;
    codes_.reset(unpacked.release());
    scales_.assign(scales, scales + static_cast<int64_t>(n) * groups);
    biases_.assign(biases, biases + static_cast<int64_t>(n) * groups);
    if (bias) bias_.assign(bias, bias + n);
    return;
  }
  code_bytes_ = packed_code_bytes(n, k, bits);
  auto repacked = alloc_bytes(code_bytes_);
  pack_quant_codes(unpacked.get(), n, k, bits, repacked.get(), table.centre_8bit_codes);
  codes_.reset(repacked.release());
  const int64_t padded = int64_t{panel_count(n, kQuantNr)} * kQuantNr;
  scales_.resize(padded * groups);
  biases_.resize(padded * groups);
  pack_group_params(scales, n, groups, scales_.data());
  pack_group_params(biases, n, groups, biases_.data());
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

// Quantizes every activation row; rows are split across threads only when
// there are enough of them to pay for the hand-off.
void quantize_rows(const QuantKernelTable& table, const float* x, int m, int k, int group, int8_t* xq,
                   float* scales, float* sums, ThreadPool& pool) {
  const profile::Scope scope(profile::Op::ActivationQuant);
  const int groups = k / group;
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      scales[r] = table.quantize_row(x + r * k, k, group, xq + r * k, sums + r * groups);
  };
  if (static_cast<int64_t>(m) * k < 16384)
    rows(0, m);
  else
    pool.parallel_for(m, rows);
}

// Regroups plain rows xq[m][k] into tiles of mr rows, [tile][k/4][mr][4]
// bytes, rows past m zero (see QuantTile::xq).
void interleave_rows(const int8_t* xq, int m, int k, int mr, int8_t* out) {
  const profile::Scope scope(profile::Op::ActivationQuant);
  const int quads = k / 4;
  for (int tile = 0; tile * mr < m; ++tile, out += static_cast<int64_t>(mr) * k)
    for (int r = 0; r < mr; ++r) {
      const int row = tile * mr + r;
      for (int q = 0; q < quads; ++q) {
        int8_t* dst = out + (static_cast<int64_t>(q) * mr + r) * 4;
        if (row < m)
          std::memcpy(dst, xq + static_cast<int64_t>(row) * k + 4 * q, 4);
        else
          std::memset(dst, 0, 4);
      }
    }
}

}  // namespace

void QuantLinear::forward_packed(const float* x, int m, float* y, ThreadPool& pool, Epilogue epilogue) const {
  const QuantKernelTable& table = *table_;
  const int groups = k_ / group_;
  // Scratch that is written in full before it is read: not zeroed first.
  const auto xq = std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(m) * k_);
  std::vector<float> act_scales(m), sums(static_cast<size_t>(m) * groups);
  quantize_rows(table, x, m, k_, group_, xq.get(), act_scales.data(), sums.data(), pool);
  // One sequential activation stream per tile instead of mr strided rows. In
  // both layouts the tile starting at row r starts r·k bytes in.
  std::unique_ptr<int8_t[]> tiled;
  const int8_t* activations = xq.get();
  if (table.interleaved_activations) {
    tiled = std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(panel_count(m, table.mr)) *
                                                     table.mr * k_);
    interleave_rows(xq.get(), m, k_, table.mr, tiled.get());
    activations = tiled.get();
  }

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
  base.ldx = table.interleaved_activations ? 4 : k_;
  base.quad_stride = table.interleaved_activations ? 4 * table.mr : 4;
  base.ldg = groups;
  base.ldy = n_;
  base.k = k_;
  base.group = group_;
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
          t.xq = activations + static_cast<int64_t>(r) * k_;  // r is a tile's first row (64 % mr == 0)
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
